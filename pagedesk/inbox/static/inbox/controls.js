// Clicks, submits, typing in the search boxes and opened <details>, anywhere in the inbox: one
// delegated listener per kind, because the lists and the pane are re-rendered all the time. The click
// checks run in the order written; the first that matches wins.
import { openClose, openTransfer, retry, simpleAction, submitActionForm, take } from "./actions.js";
import { filterCanned, pickCanned, toggleCanned } from "./canned.js";
import { sendReply } from "./composer.js";
import { filterEmoji, pickEmoji, toggleEmoji } from "./emoji.js";
import { applySearch, loadHistory, searchHistory, selectTab } from "./lists.js";
import { loadPane, showEmpty } from "./pane.js";
import { closePickers } from "./pickers.js";
import { toggleMute } from "./sound.js";
import { loadEarlier, loadEarlierConversation } from "./thread.js";

function onClick(event) {
  const target = event.target;
  const link = target.closest("[data-open-conversation]");
  if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
    event.preventDefault();
    loadPane(Number(link.dataset.openConversation), true);
    return;
  }
  // A phone shows the lists or the conversation (app.css): back to the lists.
  if (target.closest("[data-pane-back]") && !event.ctrlKey && !event.metaKey) { event.preventDefault(); showEmpty(); return; }
  const takeButton = target.closest("[data-take]");
  if (takeButton) { takeButton.disabled = true; take(Number(takeButton.dataset.take)).finally(() => { takeButton.disabled = false; }); return; }
  const tab = target.closest("[role=tab][data-tab]");
  if (tab) { selectTab(tab.dataset.tab, false); return; }
  const retryButton = target.closest("[data-retry]");
  if (retryButton) { retry(retryButton.dataset.retry); return; }
  const more = target.closest("[data-history-more]");
  if (more) { loadHistory(Number(more.dataset.historyMore)); return; }
  const emoji = target.closest("[data-emoji]");
  if (emoji) { pickEmoji(emoji); return; }
  const canned = target.closest(".canned-item");
  if (canned) { pickCanned(canned); return; }
  if (target.closest("[data-dialog-cancel]")) { target.closest("dialog").close(); return; }
  const action = target.closest("[data-action]");
  if (action) {
    const name = action.dataset.action;
    if (name === "mute") toggleMute();
    else if (name === "help") document.getElementById("help-dialog").showModal();
    else if (name === "canned") toggleCanned();
    else if (name === "emoji") toggleEmoji();
    else if (name === "close") openClose();
    else if (name === "transfer") openTransfer(action.dataset.url);
    else if (name === "return" || name === "thread") simpleAction(action.dataset.url);
    else if (name === "load-earlier") loadEarlier(action);
    return;
  }
  if (!target.closest(".popover")) closePickers(false);
}

function onSubmit(event) {
  const form = event.target;
  if (form.id === "composer") { event.preventDefault(); sendReply(); return; }
  if (form.matches("[data-action-form]")) { event.preventDefault(); submitActionForm(form); }
}

function onInput(event) {
  const search = event.target.closest("[data-search]");
  if (search) {
    if (search.dataset.search === "history") searchHistory(); else applySearch(search.dataset.search);
    return;
  }
  if (event.target.id === "canned-search") filterCanned(event.target.value);
  if (event.target.id === "emoji-search") filterEmoji(event.target.value);
}

export function listenControls() {
  document.addEventListener("click", onClick);
  document.addEventListener("submit", onSubmit);
  document.addEventListener("input", onInput);
  document.addEventListener("toggle", (event) => loadEarlierConversation(event.target), true);
}
