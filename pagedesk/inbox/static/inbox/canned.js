// The canned-responses picker: opened by its button (search box focused) or by "/" at the start of
// the reply (the reply is the search; ↑ ↓ choose, Enter inserts).
import { closePickers, insertAtCursor, openPicker } from "./pickers.js";

let cannedFromSlash = false;
function openCanned(fromSlash) {
  if (!openPicker("canned")) return;
  cannedFromSlash = fromSlash;
  filterCanned(fromSlash ? slashQuery() : "");
  if (!fromSlash) document.getElementById("canned-search").focus();
}

export function toggleCanned() {
  if (document.getElementById("canned-pop").hidden) openCanned(false); else closePickers(true);
}

function slashQuery() {
  const text = document.getElementById("composer-text").value;
  return text.startsWith("/") ? text.slice(1) : "";
}

function cannedItems() { return Array.from(document.querySelectorAll("#canned-pop .canned-item")).filter((li) => !li.hidden); }

export function filterCanned(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  document.querySelectorAll("#canned-pop .canned-item").forEach((li) => {
    li.hidden = !words.every((w) => (li.dataset.searchText || "").includes(w));
  });
  highlightCanned(0);
}

function highlightCanned(index) {
  const items = cannedItems();
  document.querySelectorAll("#canned-pop .canned-item").forEach((li) => li.setAttribute("aria-selected", "false"));
  if (!items.length) return;
  const chosen = items[(index + items.length) % items.length];
  chosen.setAttribute("aria-selected", "true");
  chosen.scrollIntoView({ block: "nearest" });
}

export function moveCanned(step) {
  const items = cannedItems();
  const current = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
  highlightCanned(current + step);
}

// The highlighted response, or null.
export function chosenCanned() { return document.querySelector('#canned-pop .canned-item[aria-selected="true"]:not([hidden])'); }

export function pickCanned(li) {
  const text = document.getElementById("composer-text");
  if (!li || !text) return;
  if (text.value.startsWith("/")) text.value = "";
  closePickers(false);
  insertAtCursor(text, li.dataset.text);
}

// A key in the reply box while the picker is open from "/": ↑ ↓ choose, Enter inserts. True when the
// key was the picker's.
export function cannedSlashKey(event) {
  const cannedOpen = !document.getElementById("canned-pop").hidden;
  if (cannedOpen && cannedFromSlash) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") { event.preventDefault(); moveCanned(event.key === "ArrowDown" ? 1 : -1); return true; }
    if (event.key === "Enter" && !event.shiftKey) {
      const chosen = chosenCanned();
      if (chosen) { event.preventDefault(); pickCanned(chosen); return true; }
    }
  }
  return false;
}

// The reply box changed: "/" at the start (on one line) opens or filters the picker; anything else
// closes a picker "/" opened.
export function cannedFollowSlash(text) {
  if (text.value.startsWith("/") && !text.value.includes("\n")) {
    if (document.getElementById("canned-pop").hidden) openCanned(true); else filterCanned(slashQuery());
  } else if (cannedFromSlash && !document.getElementById("canned-pop").hidden) {
    closePickers(false);
  }
}
