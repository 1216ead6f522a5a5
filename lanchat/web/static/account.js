// Signing in to an account, and read markers the account's connections share.
//
// Sans-I/O like session.js: these functions and handlers work on a Session (its send(),
// notify() and conversations) and touch neither the DOM nor the socket.
// Specs: https://ircv3.net/specs/extensions/sasl-3.1 (AUTHENTICATE, 400-byte chunks, a "+"
// after a chunk of exactly 400, 900/903/904-907; CAP END waits for the exchange), RFC 4616
// (PLAIN: authzid NUL authcid NUL passwd), https://ircv3.net/specs/extensions/websocket (a
// WebSocket connection authenticates as any other), and
// https://ircv3.net/specs/extensions/read-marker (MARKREAD <target> [timestamp=...]; the
// server tells every connection of the account where it stopped reading, and sends the
// marker of a room after joining it).

export const ACCOUNT_CAPS = ["sasl", "draft/read-marker"];
const CHUNK = 400; // sasl-3.1: the longest AUTHENTICATE argument

/** Whether a message line counts as unread: said by someone else (not a join or notice). */
function counts(line) {
  return ["message", "action"].includes(line.kind) && !line.self;
}

/** UTF-8 bytes of `text` in base64 (btoa takes only Latin-1). */
function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The capabilities were acknowledged: start the SASL PLAIN exchange when the person signs in
 * and the server took `sasl`. Returns true when one started (CAP END waits for its end).
 */
export function startLogin(session) {
  if (!session.login || session.account) return false;
  if (!session.caps.has("sasl")) {
    session.alert("This server has no accounts: you are chatting as a guest.");
    return false;
  }
  session.send("AUTHENTICATE", "PLAIN");
  return true;
}

function loginFailed(session, text) {
  session.alert(text);
  session.notify({ type: "state", state: "rejected", needs: "account" });
}

/**
 * The person read `conv` to its newest message: move the read marker there (the server
 * tells the account's other connections). Only messages with a server time and msgid count;
 * a marker only moves forward.
 */
export function markRead(session, conv) {
  if (!session.registered || !session.caps.has("draft/read-marker") || !conv) return;
  const newest = conv.lines.findLast((line) => line.msgid)?.time ?? 0;
  if (newest <= conv.readTime) return;
  conv.readTime = newest;
  session.send("MARKREAD", conv.name, `timestamp=${new Date(newest).toISOString()}`);
}

/**
 * Count `conv`'s unread messages again from its read marker (one moved by another
 * connection, or history that came after the marker). The conversation being looked at has
 * none: what is on screen is read.
 */
export function recount(session, conv) {
  if (!conv.readTime) return;
  const seen = conv.key === session.active && !session.hidden;
  const unread = seen ? [] : conv.lines.filter((l) => counts(l) && l.time > conv.readTime);
  conv.unread = unread.length;
  conv.mentions = unread.filter((line) => line.mention || !conv.isRoom).length;
  session.notify({ type: "conversation", conv });
}

/**
 * Where the "New messages" line goes in `conv`: above its first message after the read
 * marker `since`, or without a marker above the last `count` unread ones; null for nowhere.
 */
export function firstUnread(conv, { since = 0, count = 0 }) {
  const unread = conv.lines.filter(counts);
  if (since) return unread.find((line) => line.time > since) ?? null;
  return count ? (unread.at(-count) ?? unread[0] ?? null) : null;
}

// One function per command, called with the Session as `this` (merged into handlers.js).
export const ACCOUNT_HANDLERS = {
  AUTHENTICATE(msg) {
    if (msg.params[0] !== "+" || !this.login) return;
    const { account, password } = this.login;
    const response = base64(`\0${account}\0${password}`);
    for (let at = 0; at < response.length; at += CHUNK) {
      this.send("AUTHENTICATE", response.slice(at, at + CHUNK));
    }
    if (response.length % CHUNK === 0) this.send("AUTHENTICATE", "+");
  },

  900(msg) {
    this.account = msg.params[2] ?? "";
    this.notify({ type: "account", account: this.account });
  },

  903() {
    if (!this.registered) this.send("CAP", "END");
  },

  904(msg) {
    const tooMany = /too many/i.test(msg.params.at(-1) ?? "");
    loginFailed(
      this,
      tooMany
        ? "Too many wrong passwords from this device: wait a minute, then sign in again."
        : "That account name or password did not work: check both, or leave them empty " +
            "to chat as a guest.",
    );
  },

  905() {
    loginFailed(this, "That account name or password is too long for this server.");
  },

  906() {
    if (!this.registered) this.send("CAP", "END"); // the exchange was aborted: go on as a guest
  },

  MARKREAD(msg) {
    const [target = "", value = ""] = msg.params;
    const conv = this.conversations.get(this.fold(target));
    if (!conv || !value.startsWith("timestamp=")) return;
    const time = Date.parse(value.slice("timestamp=".length));
    if (!(time > conv.readTime)) return;
    conv.readTime = time;
    recount(this, conv);
    this.notify({ type: "read", conv });
  },
};
ACCOUNT_HANDLERS["907"] = ACCOUNT_HANDLERS["903"]; // logged in already (after a reconnect)
