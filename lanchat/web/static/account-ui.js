// The page's side of accounts: the optional sign-in on the welcome card, and the "New
// messages" line above what the account has not read yet.
//
// The account and its password stay in this browser only when "Remember me" is ticked
// (localStorage, like the nickname); unticked, they are forgotten at the next sign-in. A
// sign-in the server refused is forgotten too, so a changed password is not tried again at
// every visit. What counts as read is in account.js (sans-I/O); this module owns the DOM.

import { firstUnread, markRead } from "./account.js";
import { el } from "./view.js";

const ACCOUNT_KEY = "lanchat.account"; // localStorage: {account, password}, with Remember me
const $ = (id) => document.getElementById(id);
// Conversation key -> {since, count}: its read marker and unread count when it was opened.
// The "New messages" line stays above what was new then, while the person reads (and so
// moves the marker) below it.
const openedAt = new Map();

function remembered() {
  try {
    const saved = JSON.parse(localStorage.getItem(ACCOUNT_KEY) ?? "null");
    return saved?.account && saved?.password ? saved : null;
  } catch {
    return null; // not written by this page: as if nothing was remembered
  }
}

function showFields(open) {
  $("signin-fields").hidden = !open;
  $("signin-toggle").setAttribute("aria-expanded", String(open));
}

/** Fill the sign-in from what was remembered, and let the button open and close it. */
export function setUpSignIn() {
  const saved = remembered();
  if (saved) {
    $("account").value = saved.account;
    $("account-password").value = saved.password;
    $("remember").checked = true;
    showFields(true);
  }
  $("signin-toggle").addEventListener("click", () => {
    const open = $("signin-fields").hidden;
    showFields(open);
    if (open) $("account").focus();
  });
}

/**
 * What the sign-in asks for: {login: {account, password}} to sign in, {login: null} for a
 * guest, or {problem} (a sentence) when half of it is filled. Remembered or forgotten as
 * "Remember me" says.
 */
export function signInChoice() {
  const account = $("account").value.trim();
  const password = $("account-password").value;
  if ($("signin-fields").hidden || (!account && !password)) return { login: null };
  if (!account) return { problem: "Type the account's name too, or empty the password." };
  if (!password) return { problem: `Type the password of the account ${account} too.` };
  if ($("remember").checked) {
    localStorage.setItem(ACCOUNT_KEY, JSON.stringify({ account, password }));
  } else {
    localStorage.removeItem(ACCOUNT_KEY);
  }
  return { login: { account, password } };
}

/** The server refused the account or password: forget them and ask again. */
export function signInRefused() {
  localStorage.removeItem(ACCOUNT_KEY);
  showFields(true);
  $("account-password").focus();
}

/** `conv` is being opened: the "New messages" line goes above what is unread now. */
export function opened(conv) {
  openedAt.set(conv.key, { since: conv.readTime, count: conv.unread });
}

/**
 * A read marker came for `conv` (shown now). The first one known since it was opened (the
 * server sends a room's marker right after joining it) decides where the line goes.
 */
export function markerCame(conv) {
  const at = openedAt.get(conv.key);
  if (!at?.since) openedAt.set(conv.key, { count: 0, ...at, since: conv.readTime });
}

/** Put the "New messages" line in the message list of `conv` where it belongs, if anywhere. */
export function drawUnreadLine(list, conv) {
  list.querySelector(".unread-line")?.remove();
  const first = firstUnread(conv, openedAt.get(conv.key) ?? {});
  const item = first && list.querySelector(`li[data-id="${CSS.escape(first.id)}"]`);
  if (item) {
    const label = el("span", { text: "New messages" });
    item.before(el("li", { cls: "unread-line", attrs: { role: "separator", "aria-label": "New messages" } }, label));
  }
}

/**
 * The person may just have read the conversation on screen: it is, the page is visible and
 * the list is scrolled to its end (`atEnd`). Then its read marker moves to the newest message.
 */
export function readIfSeen(session, atEnd) {
  const conv = session?.conversations.get(session.active);
  if (conv && atEnd && !document.hidden) markRead(session, conv);
}
