// The agent inbox: lists on the left, the open conversation on the right, kept live by events.
// Events are hints (ARCHITECTURE.md §6): every event makes the page re-fetch the fragment it affects,
// and every (re)connect re-fetches the lists and the open thread's newest page. Messages are keyed by
// id and inserted idempotently, so a repeated or late fragment never duplicates or reorders anything.
(function () {
  "use strict";

  const root = document.getElementById("inbox");
  if (!root) return;
  const me = Number(root.dataset.agentId);
  const baseTitle = document.title;
  const MUTE_KEY = "pagedesk.inbox.muted";
  const TYPING_EVERY_MS = 5000;
  let openId = Number(root.dataset.openId) || null;
  let activeTab = "active";
  let connectedOnce = false;
  // The conversation an action (close, transfer, return) is being taken on, and whether an event
  // about it came meanwhile (refreshPaneHead left it to the action's answer).
  let acting = null;
  let missedWhileActing = false;

  // --- small helpers ---------------------------------------------------------------------------

  function csrf() {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"] || "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" },
      body: body || new FormData(),
      credentials: "same-origin",
    });
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("application/json")) data = await response.json();
    else if (response.status !== 204) data = await response.text();
    return { ok: response.ok, status: response.status, data };
  }

  async function get(url) {
    const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("application/json") ? await response.json() : await response.text();
    return { ok: response.ok, status: response.status, data, headers: response.headers };
  }

  function errorText(result, fallback) {
    if (result.data && typeof result.data === "object" && result.data.error) return result.data.error.message;
    return fallback || "Something went wrong; try again.";
  }

  function toast(text, kind) {
    const box = document.getElementById("toasts");
    const item = document.createElement("p");
    item.className = "toast" + (kind ? " toast-" + kind : "");
    item.textContent = text; // never HTML: messages can quote customer names
    box.appendChild(item);
    setTimeout(() => item.remove(), kind === "bad" ? 9000 : 5000);
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // app.js (loaded first, on every page) owns the duration format and the [data-since] counters.
  const humanDuration = window.pagedesk.humanDuration;

  // --- lists on the left -----------------------------------------------------------------------

  function applySearch(tab) {
    const input = document.querySelector(`[data-search="${tab}"]`);
    const list = document.getElementById(`${tab}-list`);
    if (!input || !list) return;
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    list.querySelectorAll("li[data-conversation-id]").forEach((li) => {
      const text = li.dataset.searchText || "";
      li.hidden = !words.every((w) => text.includes(w));
    });
  }

  function markOpenInLists() {
    document.querySelectorAll(".conv[data-conversation-id]").forEach((li) => {
      const isOpen = Number(li.dataset.conversationId) === openId;
      li.classList.toggle("is-open", isOpen);
      const link = li.querySelector(".conv-link");
      if (link) { if (isOpen) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current"); }
    });
  }

  function updateTitle() {
    const list = document.getElementById("active-list");
    const unread = list ? Number(list.dataset.unreadTotal || 0) : 0;
    document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
  }

  // Re-fetches asked for and finished, so an event about a conversation the lists do not show yet
  // can tell whether a re-fetch that may bring it is still on its way.
  let listsAsked = 0;
  let listsDone = 0;
  const fetchLists = debounce((asked) => {
    const url = root.dataset.listsUrl + (openId ? `?open=${openId}` : "");
    htmx.ajax("GET", url, { target: "#lists-sink", swap: "innerHTML" }).then(() => {
      tickSince();
      applySearch("active");
      applySearch("pending");
      markOpenInLists();
      updateTitle();
    }).finally(() => { listsDone = Math.max(listsDone, asked); });
  }, 120);

  function refreshLists() {
    listsAsked += 1;
    fetchLists(listsAsked);
  }

  function listed(id) {
    return !!document.querySelector(`#active-list [data-conversation-id="${id}"], #pending-list [data-conversation-id="${id}"]`);
  }

  function loadHistory(offset) {
    const input = document.querySelector('[data-search="history"]');
    const params = new URLSearchParams({ q: input ? input.value : "", offset: String(offset || 0) });
    const target = document.getElementById("history-list");
    get(`${root.dataset.historyUrl}?${params}`).then((result) => {
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

  function selectTab(tab, focus) {
    activeTab = tab;
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

  // --- the open conversation -------------------------------------------------------------------

  function pane() { return document.getElementById("pane-root"); }
  function messagesList() { return document.getElementById("messages"); }

  function messageKey(li) { return [Number(li.dataset.ts || 0), Number(li.dataset.messageId || 0)]; }
  function before(a, b) { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]); }

  // A message only moves forward (pending → sent → delivered → read, or failed): a fragment fetched
  // earlier but answered later (the send's own response, two quick status fetches) never undoes a newer
  // one. Retry is the one step back, and it says so (force).
  const RANK = { received: 0, pending: 0, sent: 1, delivered: 2, read: 3, failed: 3 };
  function rank(li) { return RANK[li.dataset.status] ?? 0; }

  // Insert or replace each message by id, keeping (time, id) order. Returns the number added.
  function mergeMessages(html, list, force) {
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
  document.addEventListener("scroll", (event) => { if (event.target.id === "thread") pinned = isNearBottom(); }, true);
  document.addEventListener("load", (event) => {
    if (event.target.tagName === "IMG" && event.target.closest("#thread") && pinned) scrollToBottom();
  }, true);

  function isNearBottom() {
    const thread = document.getElementById("thread");
    return !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
  }

  function scrollToBottom() {
    const thread = document.getElementById("thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  async function fetchNewer() {
    const p = pane();
    if (!p) return;
    const result = await get(`${p.dataset.messagesUrl}?after=${lastMessageId()}`);
    if (result.ok && pane() === p) mergeMessages(result.data);
  }

  // After a reconnect: the newest page again, merged by id (new ones inserted, ticks updated).
  async function fetchTail() {
    const p = pane();
    if (!p) return;
    const result = await get(p.dataset.messagesUrl);
    if (result.ok && pane() === p) mergeMessages(result.data);
  }

  async function fetchMessage(messageId) {
    const p = pane();
    if (!p) return;
    const result = await get(`${p.dataset.messagesUrl}${messageId}/`);
    if (result.ok && pane() === p) mergeMessages(result.data);
  }

  const markSeen = debounce(() => {
    const p = pane();
    if (!p || document.hidden) return;
    post(p.dataset.seenUrl).then(() => refreshLists());
  }, 300);

  async function loadPane(id, push) {
    const url = `${root.dataset.baseUrl}${id}/pane/`;
    const result = await get(url);
    const target = document.getElementById("pane");
    if (!result.ok) {
      if (openId === id && (result.status === 403 || result.status === 404)) {
        // The open conversation was re-fetched after someone else moved it (a supervisor, a timer).
        toast("This conversation moved away from you.", "info");
      } else {
        toast(errorText(result, "This conversation cannot be opened."), "bad");
      }
      if (openId === id) showEmpty();
      return;
    }
    openId = id;
    target.innerHTML = result.data;
    htmx.process(target);
    initPane(true);
    if (push) history.pushState({ id }, "", pane().dataset.url);
    markOpenInLists();
  }

  function showEmpty() {
    openId = null;
    const target = document.getElementById("pane");
    target.innerHTML = document.getElementById("empty-pane-template")?.innerHTML || "";
    history.replaceState({}, "", root.dataset.baseUrl);
    markOpenInLists();
  }

  // Re-fetch the pane after a change of the conversation itself (state, transfer, contact, token), but
  // keep what the agent is writing: the header, banners and window are replaced; the composer only when
  // the agent's right to reply changed.
  async function refreshPaneHead() {
    const p = pane();
    if (!p) return;
    const id = Number(p.dataset.conversationId);
    // The agent's own close/transfer/return is on its way: its answer decides what the pane shows. A
    // fetch now would race it and, after a transfer, get a 403 for the conversation just handed on.
    if (acting === id) { missedWhileActing = true; return; }
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

  function initPane(fresh) {
    const p = pane();
    if (!p) { document.title = baseTitle; return; }
    scrollToBottom();
    startWindowCountdown();
    initComposer();
    if (fresh) markSeen();
    const text = document.getElementById("composer-text");
    if (fresh && text) text.focus({ preventScroll: true });
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

  // --- composer ----------------------------------------------------------------------------------

  let files = [];
  let lastTyping = 0;

  function composerError(text, kind) {
    const box = document.getElementById("composer-error");
    if (!box) return;
    box.textContent = text || "";
    box.dataset.kind = text ? kind || "" : "";
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_m, key) => values[key] ?? "");
  }

  function sizeText(bytes) {
    if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} bytes`;
  }

  function typeAllowed(file, accept) {
    const type = (file.type || "").toLowerCase();
    return accept.split(",").some((rule) => (rule.endsWith("/*") ? type.startsWith(rule.slice(0, -1)) : type === rule));
  }

  function renderFiles() {
    const list = document.getElementById("composer-file-list");
    const form = document.getElementById("composer");
    if (!list || !form) return;
    list.replaceChildren();
    files.forEach((file, index) => {
      const li = document.createElement("li");
      li.className = "file-chip";
      const name = document.createElement("span");
      name.textContent = `${file.name} · ${sizeText(file.size)}`; // textContent: file names are not HTML
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-quiet btn-icon";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `${form.dataset.msgRemove} ${file.name}`);
      remove.addEventListener("click", () => { files.splice(index, 1); renderFiles(); });
      li.append(name, remove);
      list.appendChild(li);
    });
  }

  function addFiles(chosen) {
    const form = document.getElementById("composer");
    const max = Number(form.dataset.maxBytes), maxFiles = Number(form.dataset.maxFiles);
    const problems = [];
    Array.from(chosen).forEach((file) => {
      if (file.size > max) {
        problems.push(format(form.dataset.msgTooBig, { name: file.name, size: sizeText(file.size), max: sizeText(max) }));
      } else if (!typeAllowed(file, form.dataset.accept)) {
        problems.push(format(form.dataset.msgBadType, { name: file.name }));
      } else if (files.length >= maxFiles) {
        problems.push(form.dataset.msgTooMany);
      } else {
        files.push(file);
      }
    });
    composerError(problems.join(" "));
    renderFiles();
  }

  // --- the length counter: Messenger takes 2,000 characters per message --------------------------

  function isSpace(ch) { return /\s/.test(ch); }

  // The reply as the server will see it (CRLF → LF, trimmed), in code points like Python's len().
  function replyChars(value) { return Array.from(value.replace(/\r\n/g, "\n").trim()); }

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
  function updateCounter() {
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

  // Sends go out one after another in the order the agent pressed Enter; the box is cleared at once
  // so the agent can write the next message while the previous one uploads.
  let sendChain = Promise.resolve();
  function sendReply() {
    const form = document.getElementById("composer");
    const text = document.getElementById("composer-text");
    if (!form || !text) return;
    if (!text.value.trim() && !files.length) { composerError(form.dataset.msgEmpty); return; }
    const length = replyChars(text.value).length;
    // Too long: the counter beside the box already says why; Send keeps the text and says nothing twice.
    if (length > Number(form.dataset.textMax)) { updateCounter(); text.focus(); return; }
    const body = new FormData();
    const written = text.value;
    body.append("text", written);
    files.forEach((file) => body.append("files", file, file.name));
    text.value = "";
    draftSave("");
    files = [];
    renderFiles();
    composerError("");
    updateCounter();
    const url = form.action;
    const sentFrom = pane()?.dataset.conversationId;
    sendChain = sendChain.then(async () => {
      try {
        const result = await post(url, body);
        if (!result.ok) { restore(written); composerError(errorText(result)); return; }
        // The same conversation, even if its pane was re-rendered meanwhile (a take, a return, an event).
        if (pane()?.dataset.conversationId === sentFrom) { mergeMessages(result.data); scrollToBottom(); }
        refreshLists();
      } catch (e) {
        restore(written);
        composerError("The message could not be sent: the connection failed. Try again.");
      }
    });
  }

  function restore(written) {
    const text = document.getElementById("composer-text");
    if (text && !text.value) { text.value = written; draftSave(written); updateCounter(); }
  }

  function insertAtCursor(textarea, value) {
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? start;
    textarea.setRangeText(value, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  // Pickers (canned responses, emoji): one open at a time; Esc closes and returns focus.
  function closePickers(focusText) {
    document.querySelectorAll(".popover").forEach((pop) => { pop.hidden = true; });
    document.querySelectorAll('[data-action="canned"], [data-action="emoji"]').forEach((b) => b.setAttribute("aria-expanded", "false"));
    if (focusText) document.getElementById("composer-text")?.focus();
  }

  let cannedFromSlash = false;
  function openCanned(fromSlash) {
    closePickers(false);
    const pop = document.getElementById("canned-pop");
    if (!pop) return;
    pop.hidden = false;
    cannedFromSlash = fromSlash;
    document.querySelector('[data-action="canned"]').setAttribute("aria-expanded", "true");
    filterCanned(fromSlash ? slashQuery() : "");
    if (!fromSlash) document.getElementById("canned-search").focus();
  }

  function slashQuery() {
    const text = document.getElementById("composer-text").value;
    return text.startsWith("/") ? text.slice(1) : "";
  }

  function cannedItems() { return Array.from(document.querySelectorAll("#canned-pop .canned-item")).filter((li) => !li.hidden); }

  function filterCanned(query) {
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

  function moveCanned(step) {
    const items = cannedItems();
    const current = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
    highlightCanned(current + step);
  }

  function pickCanned(li) {
    const text = document.getElementById("composer-text");
    if (!li || !text) return;
    if (text.value.startsWith("/")) text.value = "";
    closePickers(false);
    insertAtCursor(text, li.dataset.text);
  }

  async function openEmoji() {
    closePickers(false);
    const pop = document.getElementById("emoji-pop");
    if (!pop) return;
    pop.hidden = false;
    document.querySelector('[data-action="emoji"]').setAttribute("aria-expanded", "true");
    if (!pop.querySelector("#emoji-search")) {
      const result = await get(root.dataset.emojiUrl);
      if (result.ok) pop.innerHTML = result.data;
    }
    pop.querySelector("#emoji-search")?.focus();
  }

  function filterEmoji(query) {
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

  // What the agent is writing survives a reload, a re-fetched pane (a supervisor's return, a transfer
  // back) and reopening the conversation: one draft per conversation in this tab's session storage.
  function draftKey() {
    const p = pane();
    return p ? `pagedesk.draft.${p.dataset.conversationId}` : null;
  }
  function draftSave(value) {
    const key = draftKey();
    if (!key) return;
    try { if (value) sessionStorage.setItem(key, value); else sessionStorage.removeItem(key); } catch (e) { /* storage full or off */ }
  }
  function draftLoad() {
    const key = draftKey();
    try { return key ? sessionStorage.getItem(key) || "" : ""; } catch (e) { return ""; }
  }

  function initComposer() {
    files = [];
    const text = document.getElementById("composer-text");
    if (!text) return;
    if (!text.value) { text.value = draftLoad(); updateCounter(); }
    text.addEventListener("input", () => draftSave(text.value));
    text.addEventListener("keydown", (event) => {
      const cannedOpen = !document.getElementById("canned-pop").hidden;
      if (cannedOpen && cannedFromSlash) {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") { event.preventDefault(); moveCanned(event.key === "ArrowDown" ? 1 : -1); return; }
        if (event.key === "Enter" && !event.shiftKey) {
          const chosen = document.querySelector('#canned-pop .canned-item[aria-selected="true"]:not([hidden])');
          if (chosen) { event.preventDefault(); pickCanned(chosen); return; }
        }
      }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendReply(); }
    });
    text.addEventListener("input", () => {
      if (text.value.startsWith("/") && !text.value.includes("\n")) {
        if (document.getElementById("canned-pop").hidden) openCanned(true); else filterCanned(slashQuery());
      } else if (cannedFromSlash && !document.getElementById("canned-pop").hidden) {
        closePickers(false);
      }
      updateCounter();
      const form = document.getElementById("composer");
      if (text.value && Date.now() - lastTyping > TYPING_EVERY_MS) {
        lastTyping = Date.now();
        post(form.dataset.typingUrl).catch(() => {});
      }
    });
    document.getElementById("composer-files").addEventListener("change", (event) => {
      addFiles(event.target.files);
      event.target.value = "";
    });
  }

  // --- actions (take, close, transfer, return, retry) ---------------------------------------------

  async function take(id) {
    const result = await post(`${root.dataset.baseUrl}${id}/take/`);
    refreshLists();
    if (!result.ok) { toast(errorText(result), "bad"); if (openId === id) refreshPaneHead(); return; }
    toast(result.data.message, "ok");
    loadPane(id, true);
  }

  async function act(url, body) {
    acting = openId;
    missedWhileActing = false;
    try {
      return await post(url, body);
    } finally {
      acting = null;
    }
  }

  // After a successful action: the pane shows the conversation as it is now, or closes quietly when
  // the conversation went to someone else (the answer says so), instead of fetching it for a 403.
  async function afterAction(result, id) {
    if (!openId || openId !== id) return false;
    if (result.data.gone) { showEmpty(); return false; }
    await loadPane(id, false);
    return true;
  }

  async function submitActionForm(form) {
    const dialog = form.closest("dialog");
    const error = form.querySelector(".dialog-error");
    const id = openId;
    const result = await act(form.action, new FormData(form));
    if (!result.ok) {
      if (error) error.textContent = errorText(result);
      if (missedWhileActing) refreshPaneHead();
      return;
    }
    dialog?.close();
    toast(result.data.message, "ok");
    refreshLists();
    refreshPresence();
    afterAction(result, id);
  }

  async function simpleAction(url) {
    const id = openId;
    const result = await act(url);
    if (!result.ok) { toast(errorText(result), "bad"); if (missedWhileActing) refreshPaneHead(); return; }
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

  async function openTransfer(url) {
    const dialog = document.getElementById("transfer-dialog");
    const result = await get(url);
    if (!result.ok) { toast(errorText(result), "bad"); return; }
    dialog.querySelector(".dialog-body").innerHTML = result.data;
    dialog.showModal();
    dialog.querySelector("input[type=radio]:not([disabled])")?.focus();
  }

  async function retry(url) {
    const result = await post(url);
    if (!result.ok) { toast(errorText(result), "bad"); return; }
    mergeMessages(result.data, null, true);
  }

  async function loadEarlier(button) {
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

  function refreshPresence() {
    const holder = document.querySelector(".inbox-presence");
    if (!holder) return;
    htmx.ajax("GET", holder.dataset.presenceUrl, { target: "#presence", swap: "outerHTML" }).then(tickSince);
  }

  // --- time in status, relative times ------------------------------------------------------------

  function tidyPresence() {
    // Without break reasons the reason picker is an empty box: hide it (the Break button explains why).
    document.querySelectorAll("#presence select").forEach((select) => { select.hidden = select.options.length === 0; });
  }

  function relative(ms) {
    const seconds = (Date.now() - ms) / 1000;
    if (seconds < 60) return "now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
    return new Date(ms).toLocaleDateString(undefined, { day: "numeric", month: "short" });
  }

  function tickSince() {
    tidyPresence();
    document.querySelectorAll("[data-relative]").forEach((el) => {
      const at = Date.parse(el.dataset.relative);
      if (!isNaN(at)) el.textContent = relative(at);
    });
  }

  // --- sound and title badge ---------------------------------------------------------------------

  function muted() { return localStorage.getItem(MUTE_KEY) === "1"; }

  function showMute() {
    const button = document.querySelector('[data-action="mute"]');
    if (!button) return;
    button.setAttribute("aria-pressed", String(muted()));
    button.querySelector('[data-mute-icon="on"]').hidden = muted();
    button.querySelector('[data-mute-icon="off"]').hidden = !muted();
  }

  let audio = null;
  function ding() {
    if (muted()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const now = audio.currentTime;
      [880, 1320].forEach((freq, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.09);
        gain.gain.exponentialRampToValueAtTime(0.06, now + i * 0.09 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.09 + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + i * 0.09);
        osc.stop(now + i * 0.09 + 0.3);
      });
    } catch (e) { /* no audio device: the title badge still shows */ }
  }

  // --- live events -------------------------------------------------------------------------------

  window.pagedesk.on("snapshot", () => {
    refreshLists();
    refreshPresence();
    // Everything newer than what the page shows (bounded), then the newest page again for ticks.
    if (connectedOnce) { fetchNewer().then(fetchTail); refreshPaneHead(); }
    connectedOnce = true;
  });

  window.pagedesk.on("message.created", (event) => {
    const here = event.conversation_id === openId;
    // A member hears the messages of every queued conversation of their campaigns, also of those that
    // route by themselves, whose queue no list here shows: such a conversation shows up with the
    // conversation.assigned that hands it to this agent. Nothing to re-fetch or ring for until then,
    // unless a re-fetch that may bring it is still on its way. `pending` marks a conversation the
    // Pending list shows (ringall): its opening message is the only event this page gets about a new
    // one (docs/events.md), so it re-fetches the lists, which bring the conversation and its preview.
    if (!here && !event.pending && !listed(event.conversation_id) && listsDone >= listsAsked) return;
    if (here) fetchNewer().then(() => { if (!document.hidden) markSeen(); });
    refreshLists();
    if (event.direction === "in" && (document.hidden || !here)) ding();
  });

  ["message.status_changed", "message.updated"].forEach((type) => {
    window.pagedesk.on(type, (event) => {
      if (event.conversation_id === openId) fetchMessage(event.message_id);
      if (type === "message.status_changed" && event.status === "pending" && event.reason && event.conversation_id === openId) refreshPaneHead();
    });
  });

  ["conversation.queued", "conversation.assigned", "conversation.closed", "conversation.abandoned", "conversation.transferred"].forEach((type) => {
    window.pagedesk.on(type, (event) => {
      refreshLists();
      if (event.conversation_id === openId) refreshPaneHead();
      if (type === "conversation.assigned" && event.agent_id === me && event.how !== "taken") {
        ding();
        toast(event.how === "transferred" ? "A conversation was transferred to you." : "A new conversation was assigned to you.", "info");
      }
    });
  });

  window.pagedesk.on("queue.changed", () => refreshLists());
  window.pagedesk.on("contact.updated", () => { refreshLists(); refreshPaneHead(); });
  window.pagedesk.on("campaign.token_status_changed", () => refreshPaneHead());
  window.pagedesk.on("agent.status_changed", (event) => { if (event.agent_id === me) refreshPresence(); });

  // --- wiring --------------------------------------------------------------------------------------

  document.addEventListener("click", (event) => {
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
    if (emoji) { insertAtCursor(document.getElementById("composer-text"), emoji.dataset.emoji); closePickers(false); return; }
    const canned = target.closest(".canned-item");
    if (canned) { pickCanned(canned); return; }
    if (target.closest("[data-dialog-cancel]")) { target.closest("dialog").close(); return; }
    const action = target.closest("[data-action]");
    if (action) {
      const name = action.dataset.action;
      if (name === "mute") { localStorage.setItem(MUTE_KEY, muted() ? "0" : "1"); showMute(); }
      else if (name === "help") document.getElementById("help-dialog").showModal();
      else if (name === "canned") { if (document.getElementById("canned-pop").hidden) openCanned(false); else closePickers(true); }
      else if (name === "emoji") { if (document.getElementById("emoji-pop").hidden) openEmoji(); else closePickers(true); }
      else if (name === "close") { const d = document.getElementById("close-dialog"); d.querySelector(".dialog-error").textContent = ""; d.showModal(); }
      else if (name === "transfer") openTransfer(action.dataset.url);
      else if (name === "return") simpleAction(action.dataset.url);
      else if (name === "load-earlier") loadEarlier(action);
      return;
    }
    if (!target.closest(".popover")) closePickers(false);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id === "composer") { event.preventDefault(); sendReply(); return; }
    if (form.matches("[data-action-form]")) { event.preventDefault(); submitActionForm(form); }
  });

  document.addEventListener("input", (event) => {
    const search = event.target.closest("[data-search]");
    if (search) {
      if (search.dataset.search === "history") debouncedHistory(); else applySearch(search.dataset.search);
      return;
    }
    if (event.target.id === "canned-search") filterCanned(event.target.value);
    if (event.target.id === "emoji-search") filterEmoji(event.target.value);
  });
  const debouncedHistory = debounce(() => loadHistory(0), 250);

  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open || details.dataset.loaded) return;
    details.dataset.loaded = "1";
    get(details.dataset.earlierUrl).then((result) => {
      const list = details.querySelector("ol");
      list.replaceChildren();
      if (result.ok) mergeMessages(result.data, list);
    });
  }, true);

  document.addEventListener("keydown", (event) => {
    const inField = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (!document.querySelectorAll(".popover:not([hidden])").length) return;
      event.preventDefault();
      closePickers(true);
      return;
    }
    if (event.target.id === "canned-search") {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") { event.preventDefault(); moveCanned(event.key === "ArrowDown" ? 1 : -1); }
      if (event.key === "Enter") { event.preventDefault(); pickCanned(document.querySelector('#canned-pop .canned-item[aria-selected="true"]:not([hidden])')); }
      return;
    }
    if (event.target.id === "emoji-search" && event.key === "Enter") {
      event.preventDefault();
      const first = document.querySelector("#emoji-pop button[data-emoji]:not([hidden])");
      if (first) { insertAtCursor(document.getElementById("composer-text"), first.dataset.emoji); closePickers(false); }
      return;
    }
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      const items = Array.from(document.querySelectorAll(`#${activeTab}-list li[data-conversation-id]:not([hidden])`));
      if (!items.length) return;
      event.preventDefault();
      const index = items.findIndex((li) => Number(li.dataset.conversationId) === openId);
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
  });

  window.addEventListener("popstate", (event) => {
    const id = event.state && event.state.id;
    if (id) loadPane(id, false); else showEmpty();
  });

  document.addEventListener("visibilitychange", () => { if (!document.hidden && pane()) markSeen(); });

  // --- start -----------------------------------------------------------------------------------------
  showMute();
  tickSince();
  setInterval(tickSince, 15000);
  document.body.addEventListener("htmx:afterSwap", (event) => { if (event.target.id === "presence" || event.detail?.target?.id === "presence") tickSince(); });
  updateTitle();
  if (pane()) { history.replaceState({ id: openId }, "", pane().dataset.url); initPane(true); }
})();
