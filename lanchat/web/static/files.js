// Shared files (issue 21): the words of a share and which links are images this server keeps.
//
// Pure functions, no DOM and no network, so the page's words match the desktop client's:
// shareText and humanSize are lanchat.client.upload.share_text and
// lanchat.web.sharing.human_size, and a test holds them equal. A link is an image shown
// inline only when it is on this page's own origin (the Content-Security-Policy allows images
// from 'self' only), has the shape of a shared file's link (/files/<24-character id>/<name>)
// and its name ends like a raster image: never SVG or HTML, which can carry script.

const IMAGE_EXTENSIONS = new Set(["png", "jpg", "jpeg", "gif", "webp", "apng", "avif"]);
const FILE_PATH = /^\/files\/[A-Za-z0-9_-]{24}\/([^/]+)$/;

/** A number with one decimal as Python's format(x, ".1f") gives it: both round the exact
 * binary value, but at a true tie (x a multiple of 0.25, e.g. 2.25) Python picks the even
 * digit where toFixed rounds up. x * 4 is exact, so it tells a true tie from 1.05 (a hair
 * above 1.05 in binary, though 1.05 * 10 rounds to 10.5). */
function oneDecimal(x) {
  const tenths = Math.floor(x * 10);
  const tie = (x * 4) % 1 === 0 && x * 10 - tenths === 0.5;
  return tie && tenths % 2 === 0 ? (tenths / 10).toFixed(1) : x.toFixed(1);
}

/** A size as people read it, in decimal units like file managers: "2.3 MB", "512 bytes". */
export function humanSize(n) {
  if (n < 1000) return `${n} bytes`;
  let value = n / 1000;
  let unit = "kB";
  for (const next of ["MB", "GB"]) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${oneDecimal(value)} ${unit}`;
}

/** The ACTION text that shares a link: `* alice shared slides.pdf (2.3 MB): http://…`. */
export function shareText(name, size, url) {
  return `shared ${name} (${humanSize(size)}): ${url}`;
}

/** A file name as a header's filename* value (RFC 8187): UTF-8, every byte but
 * letters, digits and _ . - ~ percent-encoded, as Python's quote(name, safe="") does. */
export function encodedName(name) {
  return encodeURIComponent(name).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The file name of `href` when it links an image this server keeps, else "".
 * @param {string} href a link in a message
 * @param {string} origin this page's origin (location.origin)
 */
export function sharedImageName(href, origin) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return "";
  }
  const match = url.origin === origin && !url.search && !url.hash && FILE_PATH.exec(url.pathname);
  if (!match) return "";
  let name;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    return "";
  }
  const dot = name.lastIndexOf(".");
  return dot > 0 && IMAGE_EXTENSIONS.has(name.slice(dot + 1).toLowerCase()) ? name : "";
}
