// What the agent does to a conversation: take it from Pending, close it and transfer it (dialogs),
// return it to the queue, retry a failed message. Each answer is shown as a toast.
import { refreshLists } from "./lists.js";
import { toast } from "./notices.js";
import { loadPane, refreshPaneHead, showEmpty } from "./pane.js";
import { refreshPresence } from "./presence.js";
import { errorText, get, post } from "./server.js";
import { pane, state } from "./state.js";
import { mergeMessages } from "./thread.js";

export async function take(id) {
  const result = await post(`${state.root.dataset.baseUrl}${id}/take/`);
  refreshLists();
  if (!result.ok) { toast(errorText(result), "bad"); if (state.openId === id) refreshPaneHead(); return; }
  toast(result.data.message, "ok");
  loadPane(id, true);
}

async function act(url, body) {
  state.acting = state.openId;
  state.missedWhileActing = false;
  try {
    return await post(url, body);
  } finally {
    state.acting = null;
  }
}

// After a successful action: the pane shows the conversation as it is now, or closes quietly when
// the conversation went to someone else (the answer says so), instead of fetching it for a 403.
async function afterAction(result, id) {
  if (!state.openId || state.openId !== id) return false;
  if (result.data.gone) { showEmpty(); return false; }
  await loadPane(id, false);
  return true;
}

// The close and transfer dialogs' forms.
export async function submitActionForm(form) {
  const dialog = form.closest("dialog");
  const error = form.querySelector(".dialog-error");
  const id = state.openId;
  const result = await act(form.action, new FormData(form));
  if (!result.ok) {
    if (error) error.textContent = errorText(result);
    if (state.missedWhileActing) refreshPaneHead();
    return;
  }
  dialog?.close();
  toast(result.data.message, "ok");
  refreshLists();
  refreshPresence();
  afterAction(result, id);
}

// Return to the queue.
export async function simpleAction(url) {
  const id = state.openId;
  const result = await act(url);
  if (!result.ok) { toast(errorText(result), "bad"); if (state.missedWhileActing) refreshPaneHead(); return; }
  toast(result.data.message, "ok");
  refreshLists();
  if (!(await afterAction(result, id))) return;
  // Returned to the queue of a campaign that routes by itself: members hear nothing more about it
  // (only ringall queues are shown to members, docs/events.md), so a pane left open would go stale
  // when routing hands it to someone. Routing already ran by the time the answer came back; if it
  // came straight back to this agent the pane shows it assigned and stays.
  const p = pane();
  if (p && p.dataset.followed === "0") showEmpty();
}

export function openClose() {
  const d = document.getElementById("close-dialog");
  d.querySelector(".dialog-error").textContent = "";
  d.showModal();
}

export async function openTransfer(url) {
  const dialog = document.getElementById("transfer-dialog");
  const result = await get(url);
  if (!result.ok) { toast(errorText(result), "bad"); return; }
  dialog.querySelector(".dialog-body").innerHTML = result.data;
  dialog.showModal();
  dialog.querySelector("input[type=radio]:not([disabled])")?.focus();
}

export async function retry(url) {
  const result = await post(url);
  if (!result.ok) { toast(errorText(result), "bad"); return; }
  mergeMessages(result.data, null, true);
}
