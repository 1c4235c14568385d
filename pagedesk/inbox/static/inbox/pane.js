// The right-hand pane: opening a conversation (and the address bar with it), emptying the pane,
// re-fetching its head after a change, marking it seen, and the countdown of the 24 h reply window.
import { initComposer } from "./composer.js";
import { markOpenInLists, refreshLists } from "./lists.js";
import { toast } from "./notices.js";
import { errorText, get, post } from "./server.js";
import { pane, state } from "./state.js";
import { scrollToBottom } from "./thread.js";
import { debounce, fragment } from "./util.js";

// app.js (loaded first, on every page) owns the duration format and the [data-since] counters.
const humanDuration = window.pagedesk.humanDuration;

export const markSeen = debounce(() => {
  const p = pane();
  if (!p || document.hidden) return;
  post(p.dataset.seenUrl).then(() => refreshLists());
}, 300);

export async function loadPane(id, push) {
  const url = `${state.root.dataset.baseUrl}${id}/pane/`;
  const result = await get(url);
  const target = document.getElementById("pane");
  if (!result.ok) {
    if (state.openId === id && (result.status === 403 || result.status === 404)) {
      // The open conversation was re-fetched after someone else moved it (a supervisor, a timer).
      toast("This conversation moved away from you.", "info");
    } else {
      toast(errorText(result, "This conversation cannot be opened."), "bad");
    }
    if (state.openId === id) showEmpty();
    return;
  }
  state.openId = id;
  target.innerHTML = result.data;
  htmx.process(target);
  initPane(true);
  if (push) history.pushState({ id }, "", pane().dataset.url);
  markOpenInLists();
}

export function showEmpty() {
  state.openId = null;
  const target = document.getElementById("pane");
  target.innerHTML = document.getElementById("empty-pane-template")?.innerHTML || "";
  history.replaceState({}, "", state.root.dataset.baseUrl);
  markOpenInLists();
}

// Re-fetch the pane after a change of the conversation itself (state, transfer, contact, token), but
// keep what the agent is writing: the header, banners and window are replaced; the composer only when
// the agent's right to reply changed.
export async function refreshPaneHead() {
  const p = pane();
  if (!p) return;
  const id = Number(p.dataset.conversationId);
  // The agent's own close/transfer/return is on its way: its answer decides what the pane shows. A
  // fetch now would race it and, after a transfer, get a 403 for the conversation just handed on.
  if (state.acting === id) { state.missedWhileActing = true; return; }
  const result = await get(p.dataset.paneUrl);
  if (pane() !== p) return;
  if (!result.ok) {
    // Someone else moved it (a supervisor, a timer): say that, not the refusal the fetch got.
    const movedAway = result.status === 403 || result.status === 404;
    toast(movedAway ? "This conversation moved away from you." : errorText(result), "info");
    showEmpty();
    return;
  }
  const next = fragment(result.data).getElementById("pane-root");
  if (!next) return;
  if (next.dataset.canAct !== p.dataset.canAct || !document.getElementById("composer-text") !== !next.querySelector("#composer-text")) {
    await loadPane(id, false);
    return;
  }
  ["pane-head", "pane-banners", "composer-window"].forEach((part) => {
    const fresh = next.querySelector(`#${part}`);
    const old = document.getElementById(part);
    if (fresh && old) old.replaceWith(fresh);
  });
  Object.assign(p.dataset, { version: next.dataset.version, state: next.dataset.state });
  startWindowCountdown();
}

export function initPane(fresh) {
  const p = pane();
  if (!p) { document.title = state.baseTitle; return; }
  scrollToBottom();
  startWindowCountdown();
  initComposer();
  if (fresh) markSeen();
  const text = document.getElementById("composer-text");
  if (fresh && text) text.focus({ preventScroll: true });
}

// The browser's back and forward buttons move between opened conversations; a tab coming back into
// view marks the open one seen.
export function followNavigation() {
  window.addEventListener("popstate", (event) => {
    const id = event.state && event.state.id;
    if (id) loadPane(id, false); else showEmpty();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && pane()) markSeen(); });
}

// --- the 24 h window ---------------------------------------------------------------------------

let windowTimer = null;
function startWindowCountdown() {
  clearInterval(windowTimer);
  const box = document.getElementById("composer-window");
  const left = box && box.querySelector("[data-window-left]");
  if (!left) return;
  const ends = Date.now() + Number(box.dataset.remaining) * 1000;
  const tick = () => {
    const remaining = (ends - Date.now()) / 1000;
    left.textContent = `${humanDuration(remaining)} left`;
    box.classList.toggle("window-soon", remaining < 3600);
    if (remaining <= 0) { clearInterval(windowTimer); refreshPaneHead(); }
  };
  tick();
  windowTimer = setInterval(tick, 15000);
}
