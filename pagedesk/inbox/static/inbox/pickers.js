// What the pickers (canned responses, emoji) share: one open at a time, Esc closes and returns focus
// to the reply box, and a pick goes in at the cursor.

export function closePickers(focusText) {
  document.querySelectorAll(".popover").forEach((pop) => { pop.hidden = true; });
  document.querySelectorAll('[data-action="canned"], [data-action="emoji"]').forEach((b) => b.setAttribute("aria-expanded", "false"));
  if (focusText) document.getElementById("composer-text")?.focus();
}

// Opens #<name>-pop (closing any other) and marks its button expanded; null when the pane has none.
export function openPicker(name) {
  closePickers(false);
  const pop = document.getElementById(`${name}-pop`);
  if (!pop) return null;
  pop.hidden = false;
  document.querySelector(`[data-action="${name}"]`).setAttribute("aria-expanded", "true");
  return pop;
}

export function insertAtCursor(textarea, value) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? start;
  textarea.setRangeText(value, start, end, "end");
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
  textarea.focus();
}
