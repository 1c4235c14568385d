// The reply box: Enter sends (Shift+Enter is a new line), sends go out in order while the agent
// writes on, a failed send gives the text back, the draft is kept per conversation, and typing tells
// the customer (at most every 5 s).
import { addFiles, appendFiles, clearFiles, hasFiles, renderFiles } from "./attachments.js";
import { cannedFollowSlash, cannedSlashKey } from "./canned.js";
import { replyChars, updateCounter } from "./counter.js";
import { refreshLists } from "./lists.js";
import { composerError } from "./notices.js";
import { errorText, post } from "./server.js";
import { pane } from "./state.js";
import { mergeMessages, scrollToBottom } from "./thread.js";

const TYPING_EVERY_MS = 5000;
let lastTyping = 0;

// What the agent is writing survives a reload, a re-fetched pane (a supervisor's return, a transfer
// back) and reopening the conversation: one draft per conversation in this tab's session storage.
function draftKey() {
  const p = pane();
  return p ? `pagedesk.draft.${p.dataset.conversationId}` : null;
}

function draftSave(value) {
  const key = draftKey();
  if (!key) return;
  try { if (value) sessionStorage.setItem(key, value); else sessionStorage.removeItem(key); } catch (e) { /* storage full or off */ }
}

function draftLoad() {
  const key = draftKey();
  try { return key ? sessionStorage.getItem(key) || "" : ""; } catch (e) { return ""; }
}

// Sends go out one after another in the order the agent pressed Enter; the box is cleared at once
// so the agent can write the next message while the previous one uploads.
let sendChain = Promise.resolve();
export function sendReply() {
  const form = document.getElementById("composer");
  const text = document.getElementById("composer-text");
  if (!form || !text) return;
  if (!text.value.trim() && !hasFiles()) { composerError(form.dataset.msgEmpty); return; }
  const length = replyChars(text.value).length;
  // Too long: the counter beside the box already says why; Send keeps the text and says nothing twice.
  if (length > Number(form.dataset.textMax)) { updateCounter(); text.focus(); return; }
  const body = new FormData();
  const written = text.value;
  body.append("text", written);
  appendFiles(body);
  text.value = "";
  draftSave("");
  clearFiles();
  renderFiles();
  composerError("");
  updateCounter();
  const url = form.action;
  const sentFrom = pane()?.dataset.conversationId;
  sendChain = sendChain.then(async () => {
    try {
      const result = await post(url, body);
      if (!result.ok) { restore(written); composerError(errorText(result)); return; }
      // The same conversation, even if its pane was re-rendered meanwhile (a take, a return, an event).
      if (pane()?.dataset.conversationId === sentFrom) { mergeMessages(result.data); scrollToBottom(); }
      refreshLists();
    } catch (e) {
      restore(written);
      composerError("The message could not be sent: the connection failed. Try again.");
    }
  });
}

function restore(written) {
  const text = document.getElementById("composer-text");
  if (text && !text.value) { text.value = written; draftSave(written); updateCounter(); }
}

// Called for every pane rendered: the composer in it is new.
export function initComposer() {
  clearFiles();
  const text = document.getElementById("composer-text");
  if (!text) return;
  if (!text.value) { text.value = draftLoad(); updateCounter(); }
  text.addEventListener("input", () => draftSave(text.value));
  text.addEventListener("keydown", (event) => {
    if (cannedSlashKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendReply(); }
  });
  text.addEventListener("input", () => {
    cannedFollowSlash(text);
    updateCounter();
    const form = document.getElementById("composer");
    if (text.value && Date.now() - lastTyping > TYPING_EVERY_MS) {
      lastTyping = Date.now();
      post(form.dataset.typingUrl).catch(() => {});
    }
  });
  document.getElementById("composer-files").addEventListener("change", (event) => {
    addFiles(event.target.files);
    event.target.value = "";
  });
}
