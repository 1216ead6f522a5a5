// The client's view of one IRC server: registration, conversations, members, history.
//
// Sans-I/O like lanchat.client.session: feed it parsed lines with `receive(msg)`, and it
// calls `send(line)` for what goes out and `notify(event)` for what the page must redraw.
// No DOM and no WebSocket here; app.js owns the socket and the page. What each command from
// the server does is in handlers.js, one function per command.
// Specs: https://modern.ircdocs.horse (registration, JOIN/PART/NAMES/TOPIC numerics),
// https://ircv3.net/specs/extensions/capability-negotiation (CAP LS 302),
// https://ircv3.net/specs/extensions/chathistory (history on join, the gap after a reconnect),
// https://ircv3.net/specs/extensions/batch, .../message-ids (no duplicates), .../server-time.

import { recount } from "./account.js";
import { HANDLERS } from "./handlers.js";
import { casefold, format, nickOf } from "./irc.js";

export const HISTORY_LIMIT = 100; // messages on the first join, and per page of a gap
const MAX_LINES = 2000; // lines kept per conversation; the oldest go first
const PREFIX_RANK = "~&@%+"; // member list order: owners, admins, operators, half-ops, voiced

/** One room or private conversation and the lines shown in it. */
export class Conversation {
  constructor(name, key, isRoom) {
    this.name = name; // as the server spells it
    this.key = key; // casefolded name: the conversation's identity
    this.isRoom = isRoom; // a #room, or a private conversation with a nick
    this.topic = "";
    this.members = new Map(); // casefolded nick -> {nick, prefixes, away}
    this.lines = []; // oldest first, ordered by time
    this.msgids = new Set(); // msgids shown here: a message seen twice is shown once
    this.unread = 0; // messages that arrived while another conversation was shown
    this.mentions = 0; // of those, the ones that name us
    this.joined = !isRoom; // rooms: we are in it now (false while reconnecting)
    this.last = null; // {msgid, time} of the newest message: where a gap starts
    this.readTime = 0; // the read marker: time of the last message read (0: none known)
  }

  sortedMembers() {
    const rank = (m) => (m.prefixes ? PREFIX_RANK.indexOf(m.prefixes[0]) : PREFIX_RANK.length);
    return [...this.members.values()].sort(
      (a, b) => rank(a) - rank(b) || a.nick.localeCompare(b.nick),
    );
  }
}

let localIds = 0;

export class Session {
  /**
   * @param {{nick: string, password?: string, login?: ?{account: string, password: string},
   *   send: (line: string) => void, notify: (event: object) => void, now?: () => number}}
   *   options  login: the account to sign in to (account.js), null for a guest. notify gets
   *   {type: "state" | "conversations" | "conversation" | "joined" | "refused" | "line" |
   *   "lines" | "alert" | "account" | "read" | "filehost" | "upload-token" | "upload-refused",
   *   ...}: what the page should redraw (the last three are attach.js's).
   */
  constructor({ nick, password = "", login = null, send, notify, now = Date.now }) {
    this.nick = nick; // what we asked for; after 001 what the server calls us
    this.asked = nick; // the nickname the person chose (433 may give us another)
    this.password = password; // the server password (PASS), "" for none
    this.login = login; // {account, password} to sign in with (SASL PLAIN), or null
    this._send = send;
    this.notify = notify;
    this.now = now;
    this.conversations = new Map(); // key -> Conversation, in the order they were opened
    this.wanted = new Map(); // rooms to be in: key -> {name, key}; rejoined after a reconnect
    this.active = null; // key of the conversation on screen (its lines are not unread)
    this.hidden = false; // the page is in the background: every new line is unread
    this.casemapping = "rfc1459";
    this.chantypes = "#&";
    this.prefixes = { "@": "o", "+": "v" }; // ISUPPORT PREFIX symbols we recognise
    this.connectionClosed();
  }

  // ------------------------------------------------------------------ connection

  /** The socket is open: negotiate capabilities and register. */
  connectionOpened() {
    this.connectionClosed();
    this.registering = true;
    if (this.password) this.send("PASS", this.password);
    this.send("CAP", "LS", "302");
    this.send("NICK", this.nick);
    this.send("USER", "web", "0", "*", this.nick);
  }

  /** The socket is gone: forget this connection's state, keep the conversations. */
  connectionClosed() {
    this.registered = false;
    this.registering = false;
    this.caps = new Set(); // enabled on this connection
    this.offered = []; // CAP LS so far (a 302 reply may span several lines)
    this.batches = new Map(); // open BATCH ref -> {type, target, messages}
    this.names = new Map(); // room key -> members collected from 353 until 366
    this.gapFilling = new Set(); // conversation keys with a CHATHISTORY AFTER in flight
    this.triedNicks = 0;
    this.account = ""; // the account this connection is signed in to (900), "" for none
    this.filehost = ""; // ISUPPORT draft/FILEHOST: the upload URL, "" when files are off
    for (const conv of this.conversations?.values() ?? []) {
      if (conv.isRoom) conv.joined = false;
    }
  }

  send(command, ...params) {
    this._send(format({ command, params }));
  }

  fold(name) {
    return casefold(name, this.casemapping);
  }

  isRoom(name) {
    return name !== "" && this.chantypes.includes(name[0]);
  }

  isMe(nick) {
    return this.fold(nick) === this.fold(this.nick);
  }

  // ------------------------------------------------------------------ what the person does

  /** Join `room` now (or as soon as registered), with its key if it has one. */
  join(room, key = "") {
    this.wanted.set(this.fold(room), { name: room, key });
    if (this.registered) this.send("JOIN", room, ...(key ? [key] : []));
  }

  part(room) {
    this.wanted.delete(this.fold(room));
    if (this.registered) this.send("PART", room);
  }

  /** Send `text` to a room or nick; "/me" lines go as CTCP ACTION. */
  say(target, text, action = false) {
    const body = action ? `\x01ACTION ${text}\x01` : text;
    this.send("PRIVMSG", target, body);
    if (!this.caps.has("echo-message")) {
      // Without echo-message the server does not send our line back: show it ourselves.
      this.addLine(this.conversation(target), {
        nick: this.nick,
        text,
        kind: action ? "action" : "message",
        time: this.now(),
      });
    }
  }

  /** Open (or find) the private conversation with `nick`. */
  query(nick) {
    return this.conversation(nick);
  }

  /** Show `key`'s conversation: its unread count is cleared. */
  setActive(key) {
    this.active = key;
    const conv = this.conversations.get(key);
    if (conv && (conv.unread || conv.mentions)) {
      conv.unread = conv.mentions = 0;
      this.notify({ type: "conversation", conv });
    }
  }

  // ------------------------------------------------------------------ conversations

  conversation(name) {
    const key = this.fold(name);
    let conv = this.conversations.get(key);
    if (!conv) {
      conv = new Conversation(name, key, this.isRoom(name));
      this.conversations.set(key, conv);
      this.notify({ type: "conversations" });
    }
    return conv;
  }

  close(key) {
    this.conversations.delete(key);
    if (this.active === key) this.active = null;
    this.notify({ type: "conversations" });
  }

  /** Add a line in time order; drop it if its msgid was shown already. Returns it or null. */
  addLine(conv, fields, { quiet = false } = {}) {
    const line = { id: fields.msgid || `local-${++localIds}`, kind: "message", ...fields };
    if (line.msgid) {
      if (conv.msgids.has(line.msgid)) return null;
      conv.msgids.add(line.msgid);
    }
    line.self = line.nick !== undefined && this.isMe(line.nick);
    line.mention = !line.self && line.kind !== "system" && this.mentions(line.text);
    // History goes in time order; a live line goes last, whatever the clocks say.
    const lines = conv.lines;
    let at = lines.length;
    while (fields.history && at > 0 && lines[at - 1].time > line.time) at--;
    lines.splice(at, 0, line);
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    if (line.msgid && (!conv.last || line.time >= conv.last.time)) {
      conv.last = { msgid: line.msgid, time: line.time };
    }
    const counts = ["message", "action"].includes(line.kind) && !line.self && !line.old;
    if (counts && (conv.key !== this.active || this.hidden)) {
      conv.unread++;
      if (line.mention || !conv.isRoom) conv.mentions++;
      this.notify({ type: "conversation", conv });
    }
    if (!quiet) {
      const type = at === lines.length - 1 ? "line" : "lines";
      this.notify({ type, conv, line });
    }
    return line;
  }

  system(conv, text) {
    return this.addLine(conv, { kind: "system", text, time: this.now() });
  }

  alert(text) {
    this.notify({ type: "alert", text });
  }

  /** Does `text` name us (our nick as a whole word, any case)? */
  mentions(text) {
    const me = this.fold(this.nick);
    return this.fold(text)
      .split(/[^\w\-[\]\\^{}|`]+/)
      .includes(me);
  }

  // ------------------------------------------------------------------ receiving

  /** Handle one message from the server. */
  receive(msg) {
    const batch = msg.tags.batch && this.batches.get(msg.tags.batch);
    if (batch && ["PRIVMSG", "NOTICE"].includes(msg.command)) {
      batch.messages.push(msg);
      return;
    }
    const handler = HANDLERS[msg.command];
    if (handler) handler.call(this, msg);
  }

  _registeredAs(nick) {
    this.nick = nick;
    this.registered = true;
    this.registering = false;
    this.notify({ type: "state", state: "registered" });
    if (!this.isMe(this.asked)) {
      this.alert(`${this.asked} was taken, so you are ${nick}: type /nick to pick another.`);
    }
    // Rooms fill their gaps when rejoined. Private conversations have none to fill: lanchat
    // gives private history back to nobody (there are no accounts to say whose it is).
    for (const room of this.wanted.values()) {
      this.send("JOIN", room.name, ...(room.key ? [room.key] : []));
    }
  }

  _history(conv) {
    if (!this.caps.has("draft/chathistory")) return;
    if (conv.last) this._fillGap(conv);
    else this.send("CHATHISTORY", "LATEST", conv.name, "*", String(HISTORY_LIMIT));
  }

  _fillGap(conv, after = conv.last.msgid) {
    if (!this.caps.has("draft/chathistory")) return;
    this.gapFilling.add(conv.key);
    this.send("CHATHISTORY", "AFTER", conv.name, `msgid=${after}`, String(HISTORY_LIMIT));
  }

  _finishBatch(batch) {
    if (!["chathistory", "draft/chathistory"].includes(batch.type)) return;
    const conv = this.conversation(batch.target);
    // A gap after a reconnect is news (unread); the history shown on a first join is not.
    const old = !this.gapFilling.has(conv.key);
    for (const msg of batch.messages) this._message(msg, { conv, old });
    recount(this, conv); // history after the read marker is unread, wherever it was missed
    this.notify({ type: "lines", conv });
    const lastMsgid = batch.messages.at(-1)?.tags.msgid;
    if (this.gapFilling.has(conv.key) && batch.messages.length >= HISTORY_LIMIT && lastMsgid) {
      this._fillGap(conv, lastMsgid); // a full page of the gap: there may be more
    } else {
      this.gapFilling.delete(conv.key);
    }
  }

  /** PRIVMSG or NOTICE, live or from history. */
  _message(msg, { conv = null, old = null } = {}) {
    const [target, text = ""] = msg.params;
    const from = nickOf(msg.source);
    if (!conv) {
      if (this.isRoom(target)) conv = this.conversation(target);
      else if (!msg.source || !msg.source.includes("!")) {
        // A server notice (to us or to "*"): shown where the person is looking.
        const shown = this.conversations.get(this.active);
        if (shown) this.system(shown, text);
        return;
      } else conv = this.conversation(this.isMe(from) ? target : from);
    }
    let kind = msg.command === "NOTICE" ? "notice" : "message";
    let body = text;
    const ctcp = /^\x01(\S+) ?(.*?)\x01?$/s.exec(text);
    if (ctcp) {
      if (ctcp[1].toUpperCase() !== "ACTION") return; // other CTCP requests are not shown
      kind = "action";
      body = ctcp[2];
    }
    const time = msg.tags.time ? Date.parse(msg.tags.time) : this.now();
    const fields = { nick: from, text: body, kind, time };
    if (old !== null) Object.assign(fields, { history: true, old });
    if (msg.tags.msgid) fields.msgid = msg.tags.msgid;
    this.addLine(conv, fields, { quiet: old !== null });
  }

  _member(conv, nick, prefixes = "", fields = {}) {
    const key = this.fold(nick);
    const old = conv.members.get(key);
    conv.members.set(key, { nick, prefixes, away: false, ...old, ...fields });
  }
}

