// The emoji picker: its list is fetched the first time it opens; typing filters it, Enter picks the
// first one shown.
import { closePickers, insertAtCursor, openPicker } from "./pickers.js";
import { get } from "./server.js";
import { state } from "./state.js";

export async function openEmoji() {
  const pop = openPicker("emoji");
  if (!pop) return;
  if (!pop.querySelector("#emoji-search")) {
    const result = await get(state.root.dataset.emojiUrl);
    if (result.ok) pop.innerHTML = result.data;
  }
  pop.querySelector("#emoji-search")?.focus();
}

export function toggleEmoji() {
  if (document.getElementById("emoji-pop").hidden) openEmoji(); else closePickers(true);
}

export function filterEmoji(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  let any = false;
  document.querySelectorAll("#emoji-pop .emoji-group").forEach((group) => {
    let shown = 0;
    group.querySelectorAll("button[data-emoji]").forEach((b) => {
      const match = words.every((w) => b.dataset.k.includes(w));
      b.hidden = !match;
      if (match) shown += 1;
    });
    group.hidden = shown === 0;
    any = any || shown > 0;
  });
  const none = document.querySelector("#emoji-pop .emoji-none");
  if (none) none.hidden = any;
}

export function pickEmoji(button) {
  insertAtCursor(document.getElementById("composer-text"), button.dataset.emoji);
  closePickers(false);
}
