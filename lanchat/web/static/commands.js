// What typing "/something" in the message box does: /me, /msg, /query, /join, /part (/leave),
// /nick, /topic and /help, as in any IRC client (https://modern.ircdocs.horse for the
// commands they send). No DOM here: the page passes what a command may do to it.

export const NICK_KEY = "lanchat.nick"; // localStorage: the nickname, remembered on this device
const NICK_PATTERN = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/; // RFC 2812 2.3.1

/** Why `nick` cannot be a nickname, in one sentence; "" when it can. */
export function nickProblem(nick) {
  if (!nick) return "Type a nickname first: it is how people see you.";
  if (!NICK_PATTERN.test(nick)) {
    return (
      "A nickname has at most 30 letters, digits or - _ [ ] { } | ^ ` \\, " +
      "no spaces, and does not start with a digit or -."
    );
  }
  return "";
}

// name -> (args, context) => a problem to show, or nothing when done. The context is
// {session, conv (shown now, maybe undefined), show(key), leave(conv), joinAndShow(room, key)}.
const COMMANDS = {
  me(args, { session, conv }) {
    if (!conv) return "Pick a room first.";
    session.say(conv.name, args, true);
  },
  msg(args, { session, show }) {
    const [nick, ...words] = args.split(" ");
    if (!nick || !words.length) return "Usage: /msg nick message";
    session.say(nick, words.join(" "));
    show(session.query(nick).key);
  },
  query(args, { session, show }) {
    if (!args) return "Usage: /query nick";
    show(session.query(args.split(" ")[0]).key);
  },
  join(args, { session, joinAndShow }) {
    const [room, key = ""] = args.split(" ");
    if (!room) return "Usage: /join #room [key]";
    joinAndShow(session.isRoom(room) ? room : `#${room}`, key);
  },
  part(args, { session, conv, leave }) {
    leave(args ? session.conversations.get(session.fold(args.split(" ")[0])) : conv);
  },
  nick(args, { session }) {
    if (!args) return "Usage: /nick newname";
    const problem = nickProblem(args);
    if (problem) return problem;
    localStorage.setItem(NICK_KEY, args);
    session.send("NICK", args);
  },
  topic(args, { session, conv }) {
    if (!conv?.isRoom) return "Topics belong to rooms: open a room first.";
    session.send("TOPIC", conv.name, args);
  },
  help() {
    return "Commands: /me action, /msg nick text, /join #room, /part, /nick name, /topic text";
  },
};
COMMANDS.leave = COMMANDS.part;

/**
 * Run the command typed as `text` ("/join #games").
 * @returns {string} a problem to show the person, or "" when it was done.
 */
export function runCommand(text, context) {
  const [, name, args] = /^\/(\S+)\s*(.*)$/s.exec(text);
  const command = COMMANDS[name.toLowerCase()];
  if (!command) return `There is no /${name} command: try /help.`;
  return command(args.trim(), context) || "";
}
