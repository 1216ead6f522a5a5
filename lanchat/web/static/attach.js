// Sending files from the page (issue 21): the attach and camera buttons, a pasted or dropped
// file, the progress of each upload with its Cancel, and the link posted to the room.
//
// Spec: draft/FILEHOST (ircv3-specifications PR #562): the upload is a POST to the URL the
// server announces in ISUPPORT, with Content-Type, Content-Disposition and Content-Length,
// answered by 201 Created and the link in Location. The token comes over the page's own IRC
// connection (`FILEHOST` -> `NOTE FILEHOST TOKEN <token> ...`, lanchat.server.handlers.files),
// so only someone connected to this server can upload. The POST goes to this page's own
// origin (the path of the announced URL), which the Content-Security-Policy allows
// (connect-src 'self'); XMLHttpRequest rather than fetch because only it reports the progress
// of an upload. The link goes out as an ACTION in the desktop client's words (files.js).

import { encodedName, shareText } from "./files.js";
import { el } from "./view.js";

const $ = (id) => document.getElementById(id);
const TOKEN_WAIT_MS = 15000; // the server answers FILEHOST at once; past this, it will not

/** The page's file uploads. `page` gives what the rest of the page owns:
 * {session(): ?Session, conversation(): the conversation on screen, connected(): boolean,
 *  toast(text)}. */
/** The name the server kept, the last part of the link: control characters (a line break,
 * which an IRC line cannot carry) are gone from it. "" if it cannot be read. */
function keptName(link) {
  try {
    return decodeURIComponent(new URL(link).pathname.split("/").pop());
  } catch {
    return "";
  }
}

export class Attachments {
  constructor(page) {
    this.page = page;
    this.waiting = []; // uploads waiting for a token
    this.tokenTimer = 0;
    $("attach").addEventListener("click", () => $("attach-input").click());
    $("camera").addEventListener("click", () => $("camera-input").click());
    for (const input of [$("attach-input"), $("camera-input")]) {
      input.addEventListener("change", () => {
        this.send([...input.files]);
        input.value = ""; // the same file can be chosen again
      });
    }
    $("message").addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (!files.length) return;
      event.preventDefault();
      this.send(files);
    });
    const area = $("chat");
    area.addEventListener("dragover", (event) => {
      if (!event.dataTransfer?.types.includes("Files")) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    area.addEventListener("drop", (event) => {
      const files = [...(event.dataTransfer?.files ?? [])];
      if (!files.length) return;
      event.preventDefault();
      this.send(files);
    });
  }

  /** What the session says about files: the upload URL, a token, or a refusal. */
  sessionEvent(event) {
    if (event.type === "filehost") {
      const off = !this.page.session()?.filehost;
      $("attach").hidden = off;
      $("camera").hidden = off;
    } else if (event.type === "upload-token") {
      clearTimeout(this.tokenTimer);
      const waiting = this.waiting.splice(0);
      for (const upload of waiting) this.upload(upload, event.token);
    } else if (event.type === "upload-refused") {
      this.failWaiting(event.text);
    }
  }

  /** Send `files` to the conversation on screen. */
  send(files) {
    const { toast } = this.page;
    const session = this.page.session();
    const conv = this.page.conversation();
    if (!files.length) return;
    if (!session?.filehost) {
      toast("This server does not take files: ask its host to turn file sharing on.");
    } else if (!this.page.connected()) {
      toast("Not connected right now: send the file again when the link is back.");
    } else if (!conv || (conv.isRoom && !conv.joined)) {
      toast("Pick a room first: a file goes to the conversation on screen.");
    } else {
      const url = new URL(new URL(session.filehost, location.href).pathname, location.href);
      for (const file of files) this.waiting.push(this.added({ file, target: conv.name, url }));
      // One token for every file waiting: FILEHOST replaces the connection's previous token.
      if (this.waiting.length === files.length) {
        session.send("FILEHOST");
        this.tokenTimer = setTimeout(
          () => this.failWaiting("The server gave no upload token; try again."),
          TOKEN_WAIT_MS,
        );
      }
    }
  }

  /** An upload's row in the list of files being sent: its name, progress and Cancel. */
  added(upload) {
    const name = upload.file.name;
    upload.bar = el("progress", {
      attrs: { max: String(Math.max(upload.file.size, 1)), value: "0", "aria-label": `Sending ${name}` },
    });
    const cancel = el("button", {
      cls: "upload-cancel",
      attrs: { type: "button", "aria-label": `Cancel ${name}` },
      text: "Cancel",
    });
    cancel.addEventListener("click", () => this.cancel(upload));
    upload.row = el("li", { cls: "upload" }, el("span", { cls: "upload-name", text: name }), upload.bar, cancel);
    $("uploads").append(upload.row);
    $("uploads").hidden = false;
    return upload;
  }

  upload(upload, token) {
    const { file } = upload;
    const xhr = new XMLHttpRequest();
    upload.xhr = xhr;
    xhr.open("POST", upload.url);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("Content-Disposition", `attachment; filename*=UTF-8''${encodedName(file.name)}`);
    xhr.upload.addEventListener("progress", (event) => {
      upload.bar.value = event.loaded;
    });
    xhr.addEventListener("load", () => {
      const link = xhr.getResponseHeader("Location");
      if (xhr.status === 201 && link) this.shared(upload, link);
      else {
        const said = xhr.responseText.split("\n").find((line) => line.trim());
        this.failed(upload, said ?? `the server answered ${xhr.status} ${xhr.statusText}`);
      }
    });
    xhr.addEventListener("error", () =>
      this.failed(upload, "the connection to the server was lost; send it again."),
    );
    xhr.send(file);
  }

  shared(upload, link) {
    this.removed(upload);
    const text = shareText(keptName(link) || upload.file.name, upload.file.size, link);
    const session = this.page.session();
    if (session && this.page.connected()) {
      session.say(upload.target, text, true);
    } else {
      // The file is kept, but its link cannot be said now: it waits in the message box.
      $("message").value = `/me ${text}`;
      this.page.toast("Not connected right now: the link is in the message box, send it when the link is back.");
    }
  }

  failed(upload, why) {
    this.removed(upload);
    this.page.toast(`Could not send ${upload.file.name}: ${why}`);
  }

  failWaiting(why) {
    clearTimeout(this.tokenTimer);
    for (const upload of this.waiting.splice(0)) this.failed(upload, why);
  }

  cancel(upload) {
    const at = this.waiting.indexOf(upload);
    if (at >= 0) this.waiting.splice(at, 1);
    upload.xhr?.abort(); // the server keeps nothing of a cut-off upload
    this.removed(upload);
  }

  removed(upload) {
    upload.row.remove();
    $("uploads").hidden = $("uploads").childElementCount === 0;
  }
}
