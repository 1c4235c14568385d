// The length counter beside the reply box: Messenger takes 2,000 characters per message, and the
// server splits a longer reply (up to its cap, form.dataset.textMax) into several.
import { composerError } from "./notices.js";
import { format } from "./util.js";

function isSpace(ch) { return /\s/.test(ch); }

// The reply as the server will see it (CRLF → LF, trimmed), in code points like Python's len().
export function replyChars(value) { return Array.from(value.replace(/\r\n/g, "\n").trim()); }

// How many messages the server's text_split (pagedesk/messenger/send.py) makes of the reply: each
// part ends at the last space or line break that fits, a longer word is cut hard.
function countParts(chars, limit) {
  let parts = 0;
  let start = 0;
  while (chars.length - start > limit) {
    let cut = 0;
    for (let i = start + limit; i > start; i -= 1) { if (isSpace(chars[i])) { cut = i; break; } }
    if (!cut) cut = start + limit;
    parts += 1;
    start = cut;
    while (start < chars.length && isSpace(chars[start])) start += 1;
  }
  return parts + (start < chars.length ? 1 : 0);
}

function number(n) { return n.toLocaleString(document.documentElement.lang || undefined); }

function tooLongText(form, length) {
  return format(form.dataset.msgTooLong, { length: number(length), max: number(Number(form.dataset.textMax)) });
}

// Hidden well below the limit; "1,950 / 2,000" near it; above it, how many messages will go out;
// above the cap, why Send will refuse.
export function updateCounter() {
  const form = document.getElementById("composer");
  const text = document.getElementById("composer-text");
  const counter = document.getElementById("composer-count");
  if (!form || !text || !counter) return;
  const limit = Number(form.dataset.textLimit), max = Number(form.dataset.textMax);
  const chars = replyChars(text.value);
  const length = chars.length;
  counter.classList.toggle("composer-count-over", length > limit && length <= max);
  counter.classList.toggle("composer-count-bad", length > max);
  counter.hidden = length < limit * 0.9;
  if (length > max) counter.textContent = tooLongText(form, length);
  else if (length > limit) counter.textContent = format(form.dataset.msgParts, { n: number(length), parts: number(countParts(chars, limit)) });
  else counter.textContent = format(form.dataset.msgCount, { n: number(length), limit: number(limit) });
  // An error about an empty or too long box is stale once the box says otherwise.
  const error = document.getElementById("composer-error");
  if (error && length && length <= max && (error.textContent === form.dataset.msgEmpty || error.dataset.kind === "length")) composerError("");
}
