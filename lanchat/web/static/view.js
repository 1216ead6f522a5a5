// Building the page's pieces with DOM APIs: message lines, links, room and member entries.
//
// Everything that came from the network (nicks, messages, topics, room names) goes into the
// page as text (textContent or a text node), never as HTML, so `<img src=x onerror=...>` in
// a message is shown as those characters. Links are made only for http and https URLs, as
// real <a> elements with rel="noopener noreferrer". No style attributes: a strict
// Content-Security-Policy (default-src 'self') holds; colours come from classes. A link to an
// image this server keeps is also shown as a thumbnail (files.js says which links are).

import { sharedImageName } from "./files.js";

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'")\]]+$/; // punctuation after a link belongs to the sentence
const NICK_COLOURS = 8; // .nick-0 ... .nick-7 and .hue-0 ... .hue-7 in style.css
const GROUP_MS = 5 * 60 * 1000; // lines of one person within this time share one header
let ids = 0; // for the ids aria-describedby points at

/** document.createElement with classes, attributes and children (strings become text). */
export function el(tag, { cls = "", attrs = {}, text = null } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  for (const child of children) {
    if (child !== null) node.append(child);
  }
  return node;
}

/** `text` as text nodes, with http(s) URLs as links opened in a new tab. */
export function linkify(text) {
  const out = document.createDocumentFragment();
  let from = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0].replace(TRAILING, "");
    let href;
    try {
      href = new URL(url);
    } catch {
      continue;
    }
    if (href.protocol !== "http:" && href.protocol !== "https:") continue;
    out.append(text.slice(from, match.index));
    const attrs = { href: href.href, target: "_blank", rel: "noopener noreferrer" };
    const link = el("a", { attrs });
    link.textContent = url;
    out.append(link);
    from = match.index + url.length;
  }
  out.append(text.slice(from));
  return out;
}

function hue(nick) {
  let hash = 0;
  for (const c of nick.toLowerCase()) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return hash % NICK_COLOURS;
}

/** A stable text colour class for a nick. */
export function nickClass(nick) {
  return `nick-${hue(nick)}`;
}

export function avatar(nick, size = "") {
  const letter = [...nick.replace(/^[^\p{L}\p{N}]+/u, "")][0] || nick[0] || "?";
  return el("span", {
    cls: `avatar ${size} hue-${hue(nick)}`,
    attrs: { "aria-hidden": "true" },
    text: letter.toUpperCase(),
  });
}

export function clock(time) {
  return new Date(time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayOf(time) {
  return new Date(time).toDateString();
}

export function dayLabel(time) {
  const day = new Date(time);
  const today = new Date();
  if (day.toDateString() === today.toDateString()) return "Today";
  const yesterday = new Date(today.getTime() - 86400000);
  if (day.toDateString() === yesterday.toDateString()) return "Yesterday";
  return day.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" });
}

/**
 * The list items for a conversation's lines, with day dividers and grouped headers.
 * @param {object[]} lines the Conversation's lines (oldest first)
 * @param {?object} before the line shown just above the first one (for grouping), if any
 */
export function lineItems(lines, before = null) {
  const items = [];
  let previous = before;
  for (const line of lines) {
    if (!previous || dayOf(previous.time) !== dayOf(line.time)) {
      const label = el("span", { text: dayLabel(line.time) });
      items.push(el("li", { cls: "day", attrs: { role: "separator" } }, label));
      previous = null;
    }
    items.push(lineItem(line, previous));
    previous = line;
  }
  return items;
}

function lineItem(line, previous) {
  const item = el("li", { cls: `line ${line.kind}` });
  item.dataset.id = line.id;
  if (line.mention) item.classList.add("mention");
  if (line.self) item.classList.add("self");
  if (line.kind === "system") {
    item.append(el("span", { cls: "system-text", text: line.text }));
    return item;
  }
  const grouped =
    previous &&
    previous.kind === "message" &&
    line.kind === "message" &&
    previous.nick === line.nick &&
    line.time - previous.time < GROUP_MS;
  const time = el("time", {
    attrs: { datetime: new Date(line.time).toISOString() },
    text: clock(line.time),
  });
  if (grouped) {
    item.classList.add("grouped");
    item.append(el("span", { cls: "gutter" }, time));
  } else {
    item.append(avatar(line.nick));
  }
  const body = el("div", { cls: "body" });
  if (!grouped) {
    body.append(
      el(
        "div",
        { cls: "meta" },
        el("span", { cls: `nick ${nickClass(line.nick)}`, text: line.nick }),
        line.kind === "notice" ? el("span", { cls: "tag", text: "notice" }) : null,
        time,
      ),
    );
  }
  const text = el("p", { cls: "text" });
  if (line.kind === "action") {
    text.append(el("span", { cls: "actor", text: `${line.nick} ` }));
  }
  text.append(linkify(line.text));
  body.append(text, ...thumbnails(text));
  item.append(body);
  return item;
}

/** A thumbnail for each link in `text` to an image this server keeps: loaded when scrolled
 * near, named by the file's name, opening the image when clicked; gone if it does not load. */
function thumbnails(text) {
  const shown = [];
  for (const link of text.querySelectorAll("a")) {
    const name = sharedImageName(link.href, location.origin);
    if (!name) continue;
    const image = el("img", { attrs: { src: link.href, alt: name, loading: "lazy", decoding: "async" } });
    const thumb = el(
      "a",
      { cls: "thumb", attrs: { href: link.href, target: "_blank", rel: "noopener noreferrer" } },
      image,
    );
    image.addEventListener("error", () => thumb.remove());
    shown.push(thumb);
  }
  return shown;
}

/** A badge with a count, or null for none. */
export function badge(count, mention) {
  if (!count) return null;
  return el("span", {
    cls: mention ? "badge mention" : "badge",
    attrs: { "aria-hidden": "true" },
    text: count > 99 ? "99+" : String(count),
  });
}

/** "1 person", "4 people". */
export function people(count) {
  return count === 1 ? "1 person" : `${count} people`;
}

/** A room of this server: a button named by the room, with its topic and people count. */
export function roomEntry(room, choose) {
  const topicId = `room-topic-${++ids}`;
  const button = el(
    "button",
    {
      cls: "room",
      attrs: { type: "button", "aria-label": room.name, "aria-describedby": topicId },
    },
    icon(room.key ? "i-lock" : "i-hash", "room-icon"),
    el(
      "span",
      { cls: "room-main" },
      el("span", { cls: "room-name", text: room.name }),
      el("span", {
        cls: "room-topic",
        attrs: { id: topicId },
        text: room.topic || "No topic yet",
      }),
    ),
    el("span", { cls: "count", text: people(room.users ?? 0) }),
  );
  button.addEventListener("click", () => choose(room));
  return el("li", {}, button);
}

/** A room another lanchat server advertises: a link to that server's page. */
export function lanEntry(entry) {
  const where = [entry.host, entry.address].filter(Boolean).join(" · ");
  const inner = [
    icon("i-wifi", "room-icon"),
    el(
      "span",
      { cls: "room-main" },
      el("span", { cls: "room-name", text: entry.name }),
      el("span", { cls: "room-topic", text: where }),
    ),
  ];
  let href = null;
  try {
    href = new URL(entry.web);
  } catch {
    href = null;
  }
  if (!href || !["http:", "https:"].includes(href.protocol)) {
    // A server without a web page: people join it with an IRC client at this address (a
    // clustered room: at any of its nodes' addresses).
    const first = `${entry.address}:${entry.port}`;
    const addresses = entry.addresses?.length ? entry.addresses.join(", ") : first;
    const address = el("span", { cls: "count", text: addresses });
    return el("li", {}, el("div", { cls: "room static" }, ...inner, address));
  }
  const link = el(
    "a",
    { cls: "room", attrs: { href: href.href, "aria-label": entry.name, rel: "noopener" } },
    ...inner,
    el("span", { cls: "count", text: "Open" }),
  );
  return el("li", {}, link);
}

export function emptyEntry(text) {
  return el("li", { cls: "empty", text });
}


/** One of index.html's SVG symbols (#i-...), hidden from assistive technology. */
export function icon(id, cls) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#${id}`);
  svg.append(use);
  return svg;
}
