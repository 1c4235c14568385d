// The inbox's keyboard shortcuts (the help dialog lists them): Esc closes a picker, ↑ ↓ Enter in the
// pickers' search boxes, Alt+↑/↓ to the previous/next conversation, Alt+E emoji, ? help, and ← → between
// the list tabs (the WAI-ARIA tabs pattern). Enter in the reply box is the composer's (composer.js).
import { chosenCanned, moveCanned, pickCanned } from "./canned.js";
import { openEmoji, pickEmoji } from "./emoji.js";
import { selectTab } from "./lists.js";
import { loadPane } from "./pane.js";
import { closePickers } from "./pickers.js";
import { state } from "./state.js";

function onKeydown(event) {
  const inField = event.target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "Escape") {
    if (!document.querySelectorAll(".popover:not([hidden])").length) return;
    event.preventDefault();
    closePickers(true);
    return;
  }
  if (event.target.id === "canned-search") {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") { event.preventDefault(); moveCanned(event.key === "ArrowDown" ? 1 : -1); }
    if (event.key === "Enter") { event.preventDefault(); pickCanned(chosenCanned()); }
    return;
  }
  if (event.target.id === "emoji-search" && event.key === "Enter") {
    event.preventDefault();
    const first = document.querySelector("#emoji-pop button[data-emoji]:not([hidden])");
    if (first) pickEmoji(first);
    return;
  }
  if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
    const items = Array.from(document.querySelectorAll(`#${state.activeTab}-list li[data-conversation-id]:not([hidden])`));
    if (!items.length) return;
    event.preventDefault();
    const index = items.findIndex((li) => Number(li.dataset.conversationId) === state.openId);
    const next = items[Math.min(items.length - 1, Math.max(0, index + (event.key === "ArrowDown" ? 1 : -1)))] || items[0];
    loadPane(Number(next.dataset.conversationId), true);
    return;
  }
  if (event.altKey && (event.key === "e" || event.key === "E") && document.getElementById("emoji-pop")) { event.preventDefault(); openEmoji(); return; }
  if (!inField && event.key === "?") { event.preventDefault(); document.getElementById("help-dialog").showModal(); }
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
  const tab = event.target.closest("[role=tab][data-tab]");
  if (tab && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
    const tabs = ["active", "pending", "history"];
    const next = tabs[(tabs.indexOf(tab.dataset.tab) + (event.key === "ArrowRight" ? 1 : 2)) % 3];
    selectTab(next, true);
  }
}

export function listenKeys() {
  document.addEventListener("keydown", onKeydown);
}
