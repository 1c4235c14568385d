// The lists on the left (Active, Pending, History): their tabs, search boxes and re-fetches, the mark
// on the open conversation and the unread count in the page title.
import { tickSince } from "./presence.js";
import { get } from "./server.js";
import { state } from "./state.js";
import { debounce, fragment } from "./util.js";

export function applySearch(tab) {
  const input = document.querySelector(`[data-search="${tab}"]`);
  const list = document.getElementById(`${tab}-list`);
  if (!input || !list) return;
  const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
  list.querySelectorAll("li[data-conversation-id]").forEach((li) => {
    const text = li.dataset.searchText || "";
    li.hidden = !words.every((w) => text.includes(w));
  });
}

export function markOpenInLists() {
  document.querySelectorAll(".conv[data-conversation-id]").forEach((li) => {
    const isOpen = Number(li.dataset.conversationId) === state.openId;
    li.classList.toggle("is-open", isOpen);
    const link = li.querySelector(".conv-link");
    if (link) { if (isOpen) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current"); }
  });
}

export function updateTitle() {
  const list = document.getElementById("active-list");
  const unread = list ? Number(list.dataset.unreadTotal || 0) : 0;
  document.title = unread > 0 ? `(${unread}) ${state.baseTitle}` : state.baseTitle;
}

// Re-fetches asked for and finished, so an event about a conversation the lists do not show yet
// can tell whether a re-fetch that may bring it is still on its way.
let listsAsked = 0;
let listsDone = 0;
const fetchLists = debounce((asked) => {
  const url = state.root.dataset.listsUrl + (state.openId ? `?open=${state.openId}` : "");
  htmx.ajax("GET", url, { target: "#lists-sink", swap: "innerHTML" }).then(() => {
    tickSince();
    applySearch("active");
    applySearch("pending");
    markOpenInLists();
    updateTitle();
  }).finally(() => { listsDone = Math.max(listsDone, asked); });
}, 120);

export function refreshLists() {
  listsAsked += 1;
  fetchLists(listsAsked);
}

// True when every re-fetch asked for has come back.
export function listsSettled() { return listsDone >= listsAsked; }

export function listed(id) {
  return !!document.querySelector(`#active-list [data-conversation-id="${id}"], #pending-list [data-conversation-id="${id}"]`);
}

export function loadHistory(offset) {
  const input = document.querySelector('[data-search="history"]');
  const params = new URLSearchParams({ q: input ? input.value : "", offset: String(offset || 0) });
  const target = document.getElementById("history-list");
  get(`${state.root.dataset.historyUrl}?${params}`).then((result) => {
    if (!result.ok) return;
    if (offset) {
      target.querySelector(".load-more")?.remove();
      const content = fragment(result.data);
      const more = content.querySelector(".load-more");
      target.querySelector("ul").append(...content.querySelectorAll("ul > li"));
      if (more) target.appendChild(more);
    } else {
      target.innerHTML = result.data;
    }
  });
}

export const searchHistory = debounce(() => loadHistory(0), 250);

export function selectTab(tab, focus) {
  state.activeTab = tab;
  document.querySelectorAll("[role=tab][data-tab]").forEach((button) => {
    const selected = button.dataset.tab === tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    if (selected && focus) button.focus();
  });
  ["active", "pending", "history"].forEach((name) => {
    document.getElementById(`panel-${name}`).hidden = name !== tab;
  });
  if (tab === "history") loadHistory(0);
}
