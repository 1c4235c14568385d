// The open conversation's messages: merged in by id, in (time, id) order, whatever order fragments
// come back in; kept pinned to the newest; paged back; and earlier conversations shown on demand.
import { get } from "./server.js";
import { pane } from "./state.js";
import { fragment } from "./util.js";

function messagesList() { return document.getElementById("messages"); }

function messageKey(li) { return [Number(li.dataset.ts || 0), Number(li.dataset.messageId || 0)]; }
function before(a, b) { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]); }

// A message only moves forward (pending → sent → delivered → read, or failed): a fragment fetched
// earlier but answered later (the send's own response, two quick status fetches) never undoes a newer
// one. Retry is the one step back, and it says so (force).
const RANK = { received: 0, pending: 0, sent: 1, delivered: 2, read: 3, failed: 3 };
function rank(li) { return RANK[li.dataset.status] ?? 0; }

// Insert or replace each message by id, keeping (time, id) order. Returns the number added.
export function mergeMessages(html, list, force) {
  list = list || messagesList();
  if (!list) return 0;
  let added = 0;
  const nearBottom = isNearBottom();
  fragment(html).querySelectorAll("li[data-message-id]").forEach((li) => {
    const existing = list.querySelector(`li[data-message-id="${li.dataset.messageId}"]`);
    if (existing) { if (force || rank(li) >= rank(existing)) existing.replaceWith(li); return; }
    added += 1;
    const key = messageKey(li);
    const after = Array.from(list.children).find((other) => other.dataset.messageId && before(key, messageKey(other)));
    list.insertBefore(li, after || null);
  });
  if (added && nearBottom) scrollToBottom();
  return added;
}

function lastMessageId() {
  let last = 0;
  messagesList()?.querySelectorAll("li[data-message-id]").forEach((li) => { last = Math.max(last, Number(li.dataset.messageId)); });
  return last;
}

// Keep the thread pinned to the newest message while pictures load above it.
let pinned = true;
export function keepThreadPinned() {
  document.addEventListener("scroll", (event) => { if (event.target.id === "thread") pinned = isNearBottom(); }, true);
  document.addEventListener("load", (event) => {
    if (event.target.tagName === "IMG" && event.target.closest("#thread") && pinned) scrollToBottom();
  }, true);
}

function isNearBottom() {
  const thread = document.getElementById("thread");
  return !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
}

export function scrollToBottom() {
  const thread = document.getElementById("thread");
  if (thread) thread.scrollTop = thread.scrollHeight;
}

// Fetches messages of the open conversation and merges them, unless the pane changed meanwhile.
async function fetchIntoPane(url) {
  const p = pane();
  if (!p) return;
  const result = await get(url(p));
  if (result.ok && pane() === p) mergeMessages(result.data);
}

export function fetchNewer() {
  return fetchIntoPane((p) => `${p.dataset.messagesUrl}?after=${lastMessageId()}`);
}

// After a reconnect: the newest page again, merged by id (new ones inserted, ticks updated).
export function fetchTail() {
  return fetchIntoPane((p) => p.dataset.messagesUrl);
}

export function fetchMessage(messageId) {
  return fetchIntoPane((p) => `${p.dataset.messagesUrl}${messageId}/`);
}

export async function loadEarlier(button) {
  const p = pane();
  const first = messagesList()?.querySelector("li[data-message-id]");
  if (!p || !first) return;
  const thread = document.getElementById("thread");
  const height = thread.scrollHeight;
  button.disabled = true;
  const result = await get(`${p.dataset.messagesUrl}?before=${first.dataset.messageId}`);
  button.disabled = false;
  if (!result.ok) return;
  mergeMessages(result.data);
  thread.scrollTop += thread.scrollHeight - height; // keep what the agent was reading in place
  if (result.headers.get("X-Has-More") !== "1") button.remove();
}

// An earlier conversation with the same contact (a <details> in the pane), fetched the first time it opens.
export function loadEarlierConversation(details) {
  if (!(details instanceof HTMLDetailsElement) || !details.open || details.dataset.loaded) return;
  details.dataset.loaded = "1";
  get(details.dataset.earlierUrl).then((result) => {
    const list = details.querySelector("ol");
    list.replaceChildren();
    if (result.ok) mergeMessages(result.data, list);
  });
}
