// The page: the room lists, the WebSocket to the server, and the chat screen.
//
// Owns the DOM and the socket; every IRC decision is in session.js, every line's markup in
// view.js. The IRC connection is a WebSocket on this page's own origin (path /irc), one IRC
// line per frame: https://ircv3.net/specs/extensions/websocket. The room lists come from
// GET /api/rooms. After a lost connection the page reconnects with backoff and the session
// rejoins its rooms and fills the gap from history.

import {
  drawUnreadLine,
  markerCame,
  opened,
  readIfSeen,
  setUpSignIn,
  signInChoice,
  signInRefused,
} from "./account-ui.js";
import { Attachments } from "./attach.js";
import { NICK_KEY, nickProblem, runCommand } from "./commands.js";
import { parse } from "./irc.js";
import { Session } from "./session.js";
import {
  avatar,
  badge,
  el,
  emptyEntry,
  icon,
  lanEntry,
  lineItems,
  people,
  roomEntry,
} from "./view.js";

const $ = (id) => document.getElementById(id);
const ROOMS_EVERY_MS = 15000; // how often the room lists are refreshed
const BACKOFF_MAX_MS = 10000; // a LAN server restarts in seconds: never wait long to retry
const PINNED_PX = 80; // this close to the bottom, new lines keep the view at the bottom
const TOAST_MS = 6000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const page = {
  server: null, // {name, version} from /api/rooms
  rooms: [], // this server's rooms
  lan: [], // rooms other lanchat servers advertise
  session: null, // the Session while connected or reconnecting
  socket: null,
  attempt: 0, // reconnect attempts since the last registration
  retryTimer: 0,
  focusOnJoin: null, // key of the room to show when its JOIN comes back
  everRegistered: false,
  renderQueued: false,
  toastTimer: 0,
  attachments: null, // the file uploads (attach.js)
};
let ids = 0;
const drawn = new Map(); // list id -> the data it was last drawn from (see redraw)

// ------------------------------------------------------------------ room lists

async function loadRooms() {
  try {
    const response = await fetch("api/rooms", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    page.server = data.server ?? null;
    page.rooms = Array.isArray(data.rooms) ? data.rooms : [];
    page.lan = Array.isArray(data.lan) ? data.lan : [];
  } catch {
    $("server-line").textContent = "Cannot load the room list: is the server still running?";
    return;
  }
  renderRoomLists();
}

function renderRoomLists() {
  const { server, rooms, lan, session } = page;
  if (server) {
    const total = rooms.reduce((sum, room) => sum + (room.users ?? 0), 0);
    $("server-line").textContent =
      `${server.name} · ${rooms.length === 1 ? "1 room" : `${rooms.length} rooms`} · ` +
      `${people(total)} chatting`;
    $("sidebar-server").textContent = server.name;
    document.title = titleWith(`${server.name} — lanchat`);
  }
  const entries = (list, empty) => (list.length ? list.map(roomEntryOf) : [emptyEntry(empty)]);
  redraw("here-rooms", rooms, () => entries(rooms, "No rooms yet."));
  const none = "No other lanchat rooms found on this network.";
  redraw("lan-rooms", lan, () => (lan.length ? lan.map(lanEntry) : [emptyEntry(none)]));
  // In the chat screen: the rooms not joined yet.
  const joined = (room) => session?.conversations.get(session.fold(room.name))?.joined;
  const more = rooms.filter((room) => !joined(room));
  redraw("more-rooms", more, () => entries(more, "You are in every room."));
  redraw("more-lan", lan, () => lan.map(lanEntry));
  $("more-lan-title").hidden = lan.length === 0;
}

function roomEntryOf(room) {
  return roomEntry(room, chooseRoom);
}

/**
 * Redraw the list with id `id` from `data` with `build()`, but only when the data changed
 * since the last time: a redraw would take the keyboard focus off a button in it (and a
 * screen reader's place with it).
 */
function redraw(id, data, build) {
  const signature = JSON.stringify(data);
  if (drawn.get(id) === signature) return;
  drawn.set(id, signature);
  $(id).replaceChildren(...build());
}

// ------------------------------------------------------------------ joining

function askKey(room) {
  const dialog = $("key-dialog");
  $("key-title").textContent = `${room} needs a key`;
  $("room-key").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "join" ? $("room-key").value : null),
      { once: true },
    );
  });
}

async function chooseRoom(room) {
  const session = page.session;
  const existing = session?.conversations.get(session.fold(room.name));
  if (existing?.joined) {
    show(existing.key);
    return;
  }
  let nick = session?.nick;
  if (!session) {
    nick = $("nick").value.trim();
    const problem = nickProblem(nick);
    if (problem) {
      showNickError(problem);
      $("nick").focus();
      return;
    }
  }
  const signIn = page.session ? { login: null } : signInChoice();
  if (signIn.problem) {
    showNickError(signIn.problem);
    return;
  }
  let key = "";
  if (room.key) {
    key = await askKey(room.name);
    if (key === null) return;
  }
  if (!page.session) {
    localStorage.setItem(NICK_KEY, nick);
    start(nick, signIn.login);
  }
  page.focusOnJoin = page.session.fold(room.name);
  page.session.join(room.name, key);
}

function showNickError(text) {
  $("nick-error").textContent = text;
  $("nick-error").hidden = !text;
}

// ------------------------------------------------------------------ the connection

function start(nick, login) {
  showNickError("");
  page.everRegistered = false;
  const password = $("password-field").hidden ? "" : $("password").value;
  page.session = new Session({ nick, password, login, send: sendLine, notify: onSessionEvent });
  page.session.hidden = document.hidden;
  connect();
}

function connect() {
  clearTimeout(page.retryTimer);
  const url = new URL("irc", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  const socket = new WebSocket(url, ["text.ircv3.net", "binary.ircv3.net"]);
  socket.binaryType = "arraybuffer";
  page.socket = socket;
  socket.addEventListener("open", () => page.session.connectionOpened());
  socket.addEventListener("message", (event) => {
    const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
    for (const line of text.split(/\r?\n/)) {
      try {
        if (line) page.session?.receive(parse(line));
      } catch (error) {
        // A line this page does not understand must not stop the ones after it.
        console.warn("could not handle", line, error);
      }
    }
  });
  socket.addEventListener("close", () => {
    if (page.socket !== socket) return; // a socket we already replaced
    page.socket = null;
    page.session?.connectionClosed();
    lost();
  });
}

function sendLine(line) {
  const socket = page.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(socket.protocol === "binary.ircv3.net" ? encoder.encode(line) : line);
}

function connected() {
  const open = page.socket?.readyState === WebSocket.OPEN;
  return Boolean(open && page.session?.registered);
}

function lost() {
  if (!page.session) return;
  if (!page.everRegistered) {
    // The first connection never got in: back to the start, saying why.
    const unreachable = "Cannot reach the chat server: is it still running?";
    const reason = $("nick-error").textContent || unreachable;
    stop();
    showNickError(reason);
    return;
  }
  page.attempt++;
  const base = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** (page.attempt - 1));
  const delay = base * (0.8 + 0.4 * Math.random());
  setStatus(`Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s…`);
  $("link-dot").classList.add("off");
  page.retryTimer = setTimeout(connect, delay);
  queueRender();
}

function stop() {
  clearTimeout(page.retryTimer);
  const socket = page.socket;
  page.socket = null;
  page.session = null;
  if (socket) socket.close();
  document.body.dataset.view = "welcome";
  $("welcome").hidden = false;
  $("chat").hidden = true;
  renderRoomLists();
}

function onSessionEvent(event) {
  const session = page.session;
  switch (event.type) {
    case "state":
      if (event.state === "registered") {
        page.everRegistered = true;
        page.attempt = 0;
        setStatus("");
        $("link-dot").classList.remove("off");
        $("me").textContent = session.account
          ? `${session.nick}, signed in as ${session.account}`
          : session.nick;
        enterChat();
      } else if (event.state === "rejected") {
        stop();
        if (event.needs === "password") {
          $("password-field").hidden = false;
          $("password").focus();
        } else if (event.needs === "account") {
          signInRefused();
        }
      }
      break;
    case "joined":
      if (page.focusOnJoin === event.conv.key || !session.conversations.get(session.active)) {
        page.focusOnJoin = null;
        show(event.conv.key);
      }
      queueRender();
      break;
    case "refused":
      page.focusOnJoin = null;
      break;
    case "line":
      if (event.conv.key === session.active) appendLine(event.conv);
      break;
    case "lines":
      if (event.conv.key === session.active) renderMessages(event.conv);
      break;
    case "read":
      if (event.conv.key === session.active) markerCame(event.conv);
      queueRender();
      break;
    case "alert":
      if (page.everRegistered) toast(event.text);
      else showNickError(event.text);
      break;
    case "filehost":
    case "upload-token":
    case "upload-refused":
      page.attachments.sessionEvent(event);
      break;
    default:
      queueRender();
  }
}

// ------------------------------------------------------------------ the chat screen

function enterChat() {
  if (document.body.dataset.view === "chat") return;
  document.body.dataset.view = "chat";
  $("welcome").hidden = true;
  $("chat").hidden = false;
  queueRender();
}

function queueRender() {
  if (page.renderQueued) return;
  page.renderQueued = true;
  requestAnimationFrame(() => {
    page.renderQueued = false;
    renderChrome();
  });
}

function activeConversation() {
  const session = page.session;
  return session ? session.conversations.get(session.active) : undefined;
}

function show(key) {
  const next = page.session.conversations.get(key);
  if (next) opened(next); // before setActive clears its unread count
  page.session.setActive(key);
  closeDrawers();
  const conv = activeConversation();
  renderMessages(conv);
  renderChrome();
  if (!matchMedia("(max-width: 759px)").matches) $("message").focus();
}

function renderChrome() {
  const session = page.session;
  if (!session) return;
  renderConversations(session);
  renderHeader(activeConversation());
  renderMembers(activeConversation());
  renderRoomLists();
  document.title = titleWith(activeConversation()?.name ?? page.server?.name ?? "lanchat");
  $("menu-badge").hidden = unreadTotal() === 0;
}

function unreadTotal() {
  const conversations = page.session ? [...page.session.conversations.values()] : [];
  return conversations.reduce((sum, conv) => sum + conv.unread, 0);
}

/** The window title: `text`, after the number of unread messages when there are some. */
function titleWith(text) {
  const unread = unreadTotal();
  return unread ? `(${unread}) ${text}` : text;
}

function renderConversations(session) {
  const convs = [...session.conversations.values()];
  const data = convs.map((c) => [c.name, c.unread, c.mentions, c.joined, c.key === session.active]);
  redraw("conversations", data, () => convs.map((conv) => conversationEntry(session, conv)));
}

function conversationEntry(session, conv) {
  const stateId = `conv-${++ids}`;
  const description = [
    conv.unread ? `${conv.unread} unread` : "",
    conv.mentions ? `${conv.mentions} for you` : "",
    conv.isRoom && !conv.joined ? "not joined" : "",
  ].filter(Boolean);
  const button = el(
    "button",
    {
      cls: `conv${conv.key === session.active ? " active" : ""}${conv.unread ? " unread" : ""}`,
      attrs: { type: "button", "aria-label": conv.name, "aria-describedby": stateId },
    },
    conv.isRoom ? icon("i-hash", "conv-icon") : avatar(conv.name, "small"),
    el("span", { cls: "conv-name", text: conv.isRoom ? conv.name.slice(1) : conv.name }),
    el("span", { cls: "visually-hidden", attrs: { id: stateId }, text: description.join(", ") }),
    badge(conv.unread, conv.mentions > 0),
  );
  if (conv.key === session.active) button.setAttribute("aria-current", "true");
  button.addEventListener("click", () => show(conv.key));
  return el("li", {}, button);
}

function renderHeader(conv) {
  $("conv-name").textContent = conv ? conv.name : "No conversation";
  const topic = conv
    ? conv.isRoom
      ? conv.topic || "No topic"
      : "Private conversation"
    : "Pick a room to start chatting";
  $("conv-topic").textContent = topic;
  $("conv-topic").title = topic;
  $("member-count").textContent = conv?.isRoom ? String(conv.members.size) : "";
  $("open-members").hidden = !conv?.isRoom;
  $("leave").hidden = !conv;
  $("leave").setAttribute("aria-label", conv ? `Leave ${conv.name}` : "Leave");
  $("message").placeholder = conv ? `Message ${conv.name}` : "Pick a room first";
  document.body.classList.toggle("no-members", !conv?.isRoom);
}

function renderMembers(conv) {
  const session = page.session;
  const members = conv?.isRoom ? conv.sortedMembers() : [];
  const data = [session.nick, members.map((m) => [m.nick, m.prefixes, m.away])];
  redraw("members", data, () => members.map((member) => memberEntry(session, member)));
}

function memberEntry(session, member) {
  const role = member.prefixes.includes("@") ? "op" : member.prefixes ? "voice" : "";
  const button = el(
    "button",
    {
      cls: `member${member.away ? " away" : ""}`,
      attrs: { type: "button", "aria-label": member.nick },
    },
    avatar(member.nick, "small"),
    el("span", { cls: "member-nick", text: member.nick }),
    role ? el("span", { cls: "tag", text: role }) : null,
    session.isMe(member.nick) ? el("span", { cls: "tag", text: "you" }) : null,
  );
  button.addEventListener("click", () => {
    const now = page.session; // the list may outlive the session it was drawn for
    if (now && !now.isMe(member.nick)) show(now.query(member.nick).key);
  });
  return el("li", {}, button);
}

function atBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < PINNED_PX;
}

function renderMessages(conv) {
  const list = $("messages");
  list.setAttribute("aria-label", conv ? `Messages in ${conv.name}` : "Messages");
  if (!conv) {
    list.replaceChildren(el("li", { cls: "empty-state", text: "Pick a room to start chatting." }));
    return;
  }
  const items = lineItems(conv.lines);
  if (!items.length) {
    items.push(el("li", { cls: "empty-state", text: "No messages yet: say hello!" }));
  }
  list.replaceChildren(...items);
  drawUnreadLine(list, conv);
  list.scrollTop = list.scrollHeight;
  readIfSeen(page.session, atBottom(list));
}

function appendLine(conv) {
  const list = $("messages");
  const pinned = atBottom(list);
  list.querySelector(".empty-state")?.remove();
  const lines = conv.lines;
  list.append(...lineItems(lines.slice(-1), lines.at(-2) ?? null));
  if (pinned || lines.at(-1).self) list.scrollTop = list.scrollHeight;
  readIfSeen(page.session, atBottom(list));
}

function setStatus(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

function toast(text) {
  clearTimeout(page.toastTimer);
  $("toast").textContent = text;
  $("toast").hidden = false;
  page.toastTimer = setTimeout(() => {
    $("toast").hidden = true;
  }, TOAST_MS);
}

// ------------------------------------------------------------------ typing

function submit(event) {
  event.preventDefault();
  const box = $("message");
  const text = box.value;
  if (!text.trim()) return;
  if (!connected()) {
    toast("Not connected right now: your message stays in the box, send it when the link is back.");
    return;
  }
  const conv = activeConversation();
  const session = page.session;
  let problem = "";
  if (/^\/\S/.test(text) && !text.startsWith("//")) {
    problem = runCommand(text, { session, conv, show, leave, joinAndShow });
  } else if (!conv || (conv.isRoom && !conv.joined)) {
    problem = "Pick a room first: your message stays in the box.";
  } else {
    page.session.say(conv.name, text.startsWith("//") ? text.slice(1) : text);
  }
  if (problem) {
    toast(problem);
    return;
  }
  box.value = "";
}

function joinAndShow(room, key) {
  page.focusOnJoin = page.session.fold(room);
  page.session.join(room, key);
}

function leave(conv) {
  if (!conv) return;
  if (conv.isRoom && conv.joined) page.session.part(conv.name);
  else page.session.close(conv.key);
  const next = [...page.session.conversations.values()].find((c) => c.key !== conv.key);
  if (next) show(next.key);
  else {
    page.session.active = null;
    renderMessages(undefined);
    queueRender();
  }
}

// ------------------------------------------------------------------ drawers (narrow screens)

function toggleDrawer(name, open) {
  const cls = `${name}-open`;
  const isOpen = open ?? !document.body.classList.contains(cls);
  closeDrawers();
  document.body.classList.toggle(cls, isOpen);
  $("scrim").hidden = !isOpen;
  $(name === "sidebar" ? "open-sidebar" : "open-members").setAttribute("aria-expanded", isOpen);
}

function closeDrawers() {
  document.body.classList.remove("sidebar-open", "members-open");
  $("scrim").hidden = true;
  $("open-sidebar").setAttribute("aria-expanded", "false");
  $("open-members").setAttribute("aria-expanded", "false");
}

// ------------------------------------------------------------------ start-up

function main() {
  $("nick").value = localStorage.getItem(NICK_KEY) ?? "";
  $("nick-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (page.rooms.length) chooseRoom(page.rooms[0]);
  });
  $("nick").addEventListener("input", () => showNickError(""));
  $("composer").addEventListener("submit", submit);
  const list = $("messages");
  list.addEventListener("scroll", () => readIfSeen(page.session, atBottom(list)), { passive: true });
  setUpSignIn();
  $("open-sidebar").addEventListener("click", () => toggleDrawer("sidebar"));
  $("open-members").addEventListener("click", () => toggleDrawer("members"));
  $("scrim").addEventListener("click", closeDrawers);
  $("close-sidebar").addEventListener("click", closeDrawers);
  $("close-members").addEventListener("click", closeDrawers);
  $("leave").addEventListener("click", () => leave(activeConversation()));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeDrawers();
  });
  document.addEventListener("visibilitychange", () => {
    if (!page.session) return;
    page.session.hidden = document.hidden;
    if (!document.hidden) page.session.setActive(page.session.active);
    readIfSeen(page.session, atBottom($("messages")));
    // Back from the background (a phone's lock screen): retry at once rather than wait.
    if (!document.hidden && !page.socket && page.everRegistered) connect();
  });
  page.attachments = new Attachments({
    session: () => page.session,
    conversation: activeConversation,
    connected,
    toast,
  });
  loadRooms();
  setInterval(loadRooms, ROOMS_EVERY_MS);
}

main();
