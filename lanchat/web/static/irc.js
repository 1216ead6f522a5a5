// IRC lines: parse one line into a message value and format a message back into a line.
//
// Pure functions, no DOM and no network: the page's sans-I/O core, like lanchat.protocol.message
// on the server. Spec: https://modern.ircdocs.horse/#message-format and, for tags,
// https://ircv3.net/specs/extensions/message-tags (escaping of tag values).
//
//   message  = ["@" tags SPACE] [":" source SPACE] command [params]
//   tags     = tag *[";" tag]        tag = key ["=" escaped value]
//   params   = *(SPACE middle) [SPACE ":" trailing]
//
// Over a WebSocket one frame carries one line without CR LF (ircv3 websocket spec), so the
// serialiser refuses CR, LF and NUL anywhere rather than send two lines in one frame.

const UNESCAPE = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };
const ESCAPE = { ";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n" };

/** A tag value as sent (`\:` for `;`, `\s` for a space...) turned back into its text. */
export function unescapeTag(value) {
  return value.replace(/\\(.?)/gs, (_, c) => (c in UNESCAPE ? UNESCAPE[c] : c));
}

/** A tag value escaped for the wire. */
export function escapeTag(value) {
  return value.replace(/[; \\\r\n]/g, (c) => ESCAPE[c]);
}

/**
 * Parse one IRC line (with or without its CR LF).
 * @param {string} line
 * @returns {{tags: Object<string,string>, source: ?string, command: string, params: string[]}}
 *   the command in upper case; a tag without a value has the value "".
 */
export function parse(line) {
  const text = line.replace(/[\r\n]+$/, "");
  let i = 0;
  const skipSpaces = () => {
    while (text[i] === " ") i++;
  };
  const word = () => {
    const end = text.indexOf(" ", i) < 0 ? text.length : text.indexOf(" ", i);
    const w = text.slice(i, end);
    i = end;
    return w;
  };
  const tags = {};
  if (text[0] === "@") {
    i = 1;
    for (const tag of word().split(";")) {
      if (!tag) continue;
      const eq = tag.indexOf("=");
      if (eq < 0) tags[tag] = "";
      else tags[tag.slice(0, eq)] = unescapeTag(tag.slice(eq + 1));
    }
    skipSpaces();
  }
  let source = null;
  if (text[i] === ":") {
    i++;
    source = word();
    skipSpaces();
  }
  const command = word().toUpperCase();
  skipSpaces();
  const params = [];
  while (i < text.length) {
    if (text[i] === ":") {
      params.push(text.slice(i + 1));
      break;
    }
    params.push(word());
    skipSpaces();
  }
  return { tags, source, command, params };
}

/**
 * Format a message as one line without CR LF.
 * @param {{tags?: Object<string,string>, source?: ?string, command: string, params?: string[]}} msg
 * @returns {string}
 * @throws {Error} when a parameter holds CR, LF or NUL, or a middle parameter is empty,
 *   starts with ":" or holds a space (only the last one may).
 */
export function format({ tags = {}, source = null, command, params = [] }) {
  const parts = [];
  const tagText = Object.entries(tags)
    .map(([k, v]) => (v === "" ? k : `${k}=${escapeTag(v)}`))
    .join(";");
  if (tagText) parts.push(`@${tagText}`);
  if (source) parts.push(`:${source}`);
  parts.push(command);
  params.forEach((p, n) => {
    if (/[\r\n\0]/.test(p)) throw new Error("an IRC parameter cannot hold a line break");
    const last = n === params.length - 1;
    if (last && (p === "" || p.includes(" ") || p[0] === ":")) parts.push(`:${p}`);
    else if (p === "" || p.includes(" ") || p[0] === ":") {
      throw new Error(`only the last IRC parameter may be empty or hold spaces: ${p}`);
    } else parts.push(p);
  });
  return parts.join(" ");
}

/** The nick of a source `nick!user@host` (or a server name). */
export function nickOf(source) {
  return (source || "").split("!")[0];
}

/**
 * Casefold a nick or room name the way the server compares them (ISUPPORT CASEMAPPING).
 * @param {string} name
 * @param {string} mapping "rfc1459" (the default: []\~ are the upper case of {}|^) or "ascii"
 */
export function casefold(name, mapping = "rfc1459") {
  const lower = name.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (mapping === "ascii") return lower;
  return lower.replace(/[[\]\\~]/g, (c) => ({ "[": "{", "]": "}", "\\": "|", "~": "^" })[c]);
}
