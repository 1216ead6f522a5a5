// What the session does with each command and numeric from the server: one function per
// command, called with the Session as `this` (as the server's handlers/ modules are, one
// function per verb). Sans-I/O like session.js: they change the session's state and call its
// send() and notify(). Specs: https://modern.ircdocs.horse (numerics, JOIN/PART/KICK/NAMES),
// https://ircv3.net/specs/extensions/capability-negotiation, .../batch, .../standard-replies.

import { ACCOUNT_CAPS, ACCOUNT_HANDLERS, startLogin } from "./account.js";
import { nickOf } from "./irc.js";

// What we ask for when the server offers it. echo-message gives our own lines their msgid
// and server time, so a gap filled later never repeats them.
export const WANTED_CAPS = [
  "away-notify",
  "batch",
  "draft/chathistory",
  "echo-message",
  "extended-join",
  "message-tags",
  "multi-prefix",
  "server-time",
  "standard-replies",
  "userhost-in-names",
];
// Replies that end a JOIN with a reason people can act on.
const JOIN_ERRORS = {
  403: (room) => `There is no room ${room}: check the name.`,
  405: (room) => `You cannot join ${room}: you are in too many rooms, leave one first.`,
  471: (room) => `${room} is full: try again later.`,
  473: (room) => `${room} is invite-only: ask someone inside to /invite you.`,
  474: (room) => `You are banned from ${room}.`,
  475: (room) => `${room} needs a key: join it again and give the right key.`,
};

function roomOf(session, name) {
  return session.conversations.get(session.fold(name));
}

// One function per command, called with the Session as `this`.
export const HANDLERS = {
  PING(msg) {
    this.send("PONG", ...msg.params);
  },

  CAP(msg) {
    const [, sub, ...rest] = msg.params;
    const list = rest.at(-1) ?? "";
    if (sub === "LS") {
      this.offered.push(...list.split(" ").map((cap) => cap.split("=")[0]));
      if (rest.length > 1 && rest[0] === "*") return; // more LS lines follow
      const wanted = [...WANTED_CAPS, ...ACCOUNT_CAPS].filter((c) => c !== "sasl" || this.login);
      const asked = wanted.filter((cap) => this.offered.includes(cap));
      if (asked.length && this.registering) this.send("CAP", "REQ", asked.join(" "));
      else this.send("CAP", "END");
    } else if (sub === "ACK") {
      for (const cap of list.split(" ").filter(Boolean)) {
        if (cap.startsWith("-")) this.caps.delete(cap.slice(1));
        else this.caps.add(cap);
      }
      if (!this.registered && !startLogin(this)) this.send("CAP", "END");
    } else if (sub === "NAK" && !this.registered) {
      this.send("CAP", "END");
    }
  },

  "001"(msg) {
    this._registeredAs(msg.params[0]);
  },

  "005"(msg) {
    for (const token of msg.params.slice(1, -1)) {
      const [name, value = ""] = token.split("=");
      if (name === "CASEMAPPING" && value) this.casemapping = value;
      if (name === "CHANTYPES") this.chantypes = value;
      if (name === "draft/FILEHOST" || name === "soju.im/FILEHOST") {
        this.filehost = value; // the upload URL (issue 21; attach.js)
        this.notify({ type: "filehost" });
      }
      const prefix = name === "PREFIX" && /^\((\w*)\)(.*)$/.exec(value);
      if (prefix) {
        this.prefixes = {};
        [...prefix[2]].forEach((symbol, i) => {
          this.prefixes[symbol] = prefix[1][i];
        });
      }
    }
  },

  "432"(msg) {
    this.alert(
      `${msg.params[1]} cannot be a nickname: use letters, digits and - _ [ ] { } | ^ ` +
        "and do not start with a digit.",
    );
    if (!this.registered) this.notify({ type: "state", state: "rejected" });
  },

  "433"(msg) {
    if (this.registered) {
      this.alert(`${msg.params[1]} is taken: pick another nickname.`);
      return;
    }
    // While registering, try nick_, nick__ ... so a second tab still gets in.
    this.triedNicks++;
    this.nick = `${msg.params[1].slice(0, 28)}_`;
    if (this.triedNicks > 5) {
      this.alert("That nickname is taken: pick another one.");
      this.notify({ type: "state", state: "rejected" });
    } else {
      this.send("NICK", this.nick);
    }
  },

  "464"() {
    this.alert(
      this.password
        ? "That is not the server's password: check it with whoever runs the server."
        : "This server needs a password: ask whoever runs it, and type it in Server password.",
    );
    this.notify({ type: "state", state: "rejected", needs: "password" });
  },

  ERROR(msg) {
    if (!this.registered) this.alert(msg.params[0] || "The server closed the connection.");
  },

  NICK(msg) {
    const old = nickOf(msg.source);
    const nick = msg.params[0];
    const me = this.isMe(old);
    if (me) this.nick = this.asked = nick;
    for (const conv of this.conversations.values()) {
      const member = conv.members.get(this.fold(old));
      if (!member && !(me && conv.isRoom && conv.joined)) continue;
      if (member) {
        conv.members.delete(this.fold(old));
        conv.members.set(this.fold(nick), { ...member, nick });
      }
      this.system(conv, me ? `You are now known as ${nick}.` : `${old} is now known as ${nick}.`);
      this.notify({ type: "conversation", conv });
    }
    if (me) this.notify({ type: "state", state: "registered" });
  },

  JOIN(msg) {
    const nick = nickOf(msg.source);
    const conv = this.conversation(msg.params[0]);
    if (this.isMe(nick)) {
      conv.joined = true;
      conv.members.clear();
      this.wanted.set(conv.key, { key: "", ...this.wanted.get(conv.key), name: conv.name });
      this.notify({ type: "joined", conv });
      this._history(conv);
    } else {
      this._member(conv, nick, "", { away: false });
      this.system(conv, `${nick} joined.`);
    }
    this.notify({ type: "conversation", conv });
  },

  PART(msg) {
    const nick = nickOf(msg.source);
    const conv = roomOf(this, msg.params[0]);
    if (!conv) return;
    if (this.isMe(nick)) {
      this.wanted.delete(conv.key);
      this.close(conv.key);
      return;
    }
    conv.members.delete(this.fold(nick));
    this.system(conv, `${nick} left${msg.params[1] ? `: ${msg.params[1]}` : "."}`);
    this.notify({ type: "conversation", conv });
  },

  KICK(msg) {
    const [room, nick, reason = ""] = msg.params;
    const conv = roomOf(this, room);
    if (!conv) return;
    const by = nickOf(msg.source);
    if (this.isMe(nick)) {
      conv.joined = false;
      this.wanted.delete(conv.key);
      this.system(conv, `${by} removed you from ${conv.name}${reason ? `: ${reason}` : "."}`);
    } else {
      conv.members.delete(this.fold(nick));
      this.system(conv, `${by} removed ${nick}${reason ? `: ${reason}` : "."}`);
    }
    this.notify({ type: "conversation", conv });
  },

  QUIT(msg) {
    const nick = nickOf(msg.source);
    for (const conv of this.conversations.values()) {
      if (conv.members.delete(this.fold(nick))) {
        this.system(conv, `${nick} left${msg.params[0] ? ` (${msg.params[0]})` : "."}`);
        this.notify({ type: "conversation", conv });
      }
    }
  },

  AWAY(msg) {
    const key = this.fold(nickOf(msg.source));
    for (const conv of this.conversations.values()) {
      const member = conv.members.get(key);
      if (member) {
        member.away = msg.params.length > 0;
        this.notify({ type: "conversation", conv });
      }
    }
  },

  "332"(msg) {
    const conv = this.conversation(msg.params[1]);
    conv.topic = msg.params[2] ?? "";
    this.notify({ type: "conversation", conv });
  },

  "331"(msg) {
    const conv = this.conversation(msg.params[1]);
    conv.topic = "";
    this.notify({ type: "conversation", conv });
  },

  TOPIC(msg) {
    const conv = this.conversation(msg.params[0]);
    conv.topic = msg.params[1] ?? "";
    const by = nickOf(msg.source);
    const said = conv.topic ? `${by} set the topic: ${conv.topic}` : `${by} cleared the topic.`;
    this.system(conv, said);
    this.notify({ type: "conversation", conv });
  },

  "353"(msg) {
    const room = msg.params[2];
    const key = this.fold(room);
    const names = this.names.get(key) ?? [];
    for (const entry of (msg.params[3] ?? "").split(" ").filter(Boolean)) {
      let n = 0;
      while (n < entry.length && entry[n] in this.prefixes) n++;
      names.push({ nick: nickOf(entry.slice(n)), prefixes: entry.slice(0, n) });
    }
    this.names.set(key, names);
  },

  "366"(msg) {
    const key = this.fold(msg.params[1]);
    const conv = this.conversations.get(key);
    const names = this.names.get(key) ?? [];
    this.names.delete(key);
    if (!conv) return;
    conv.members.clear();
    for (const { nick, prefixes } of names) this._member(conv, nick, prefixes);
    this.notify({ type: "conversation", conv });
  },

  MODE(msg) {
    // Member prefixes change with +o/-o, +v/-v: ask for the list again, as it is short.
    if (this.isRoom(msg.params[0]) && roomOf(this, msg.params[0])) {
      this.send("NAMES", msg.params[0]);
    }
  },

  BATCH(msg) {
    const [ref = "", type, target] = msg.params;
    if (ref.startsWith("+")) {
      this.batches.set(ref.slice(1), { type, target, messages: [] });
    } else {
      const batch = this.batches.get(ref.slice(1));
      this.batches.delete(ref.slice(1));
      if (batch) this._finishBatch(batch);
    }
  },

  PRIVMSG(msg) {
    this._message(msg);
  },

  NOTICE(msg) {
    this._message(msg);
  },

  // NOTE FILEHOST TOKEN <token> <seconds> :<text>: lanchat's upload token (issue 21).
  NOTE(msg) {
    const [command, code, token] = msg.params;
    if (command === "FILEHOST" && code === "TOKEN" && token) {
      this.notify({ type: "upload-token", token });
    }
  },

  FAIL(msg) {
    if (msg.params[0] === "CHATHISTORY") return; // history is a nicety; the room still works
    if (msg.params[0] === "FILEHOST") {
      this.notify({ type: "upload-refused", text: msg.params.at(-1) });
      return;
    }
    this.alert(msg.params.at(-1));
  },
};

// Replies whose last parameter is a plain sentence worth showing as it is.
for (const numeric of ["401", "404", "406", "412", "421", "442", "482"]) {
  HANDLERS[numeric] = function show(msg) {
    this.alert(msg.params.slice(1).join(": "));
  };
}
for (const [numeric, text] of Object.entries(JOIN_ERRORS)) {
  HANDLERS[numeric] = function refused(msg) {
    const room = msg.params[1];
    this.wanted.delete(this.fold(room));
    this.alert(text(room));
    this.notify({ type: "refused", room });
  };
}
Object.assign(HANDLERS, ACCOUNT_HANDLERS);
