// pagedesk's small shared client: the live-events socket with reconnect, and page helpers.
(function () {
  "use strict";

  // One socket per tab. Pages subscribe to event types; on every (re)connect they are told to
  // re-fetch their snapshot, because events are only hints (docs/architecture.md §6).
  const listeners = {};
  let socket = null;
  let retry = 0;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
    socket.addEventListener("open", () => {
      retry = 0;
      document.body.dataset.live = "on";
      emit("snapshot", {});
    });
    socket.addEventListener("message", (msg) => {
      if (msg.data === "pong") return;
      let event;
      try { event = JSON.parse(msg.data); } catch (e) { return; }
      // The socket re-joined the groups the user may see now: pages re-fetch, as after a reconnect.
      if (event.type === "resubscribed") { document.body.dataset.live = "on"; emit("snapshot", {}); return; }
      // The server lost its realtime layer (Redis): open socket, no live events until "resubscribed".
      if (event.type === "realtime.interrupted") { document.body.dataset.live = "off"; return; }
      // A campaign's members or supervisors may have changed, and with them what this user may see.
      if (event.type === "campaign.changed") socket.send("resubscribe");
      emit(event.type, event);
      emit("*", event);
    });
    socket.addEventListener("close", (e) => {
      document.body.dataset.live = "off";
      // Logged out, or no longer allowed in (deactivated): reconnecting would not help; the login page says why.
      if (e.code === 4401 || e.code === 4403) {
        location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      retry = Math.min(retry + 1, 6);
      // 1012 "service restart": the process is stopping and a proxy already sends new connections to
      // another one. Soon, but spread over a second: every page of that process got the close at once.
      const delay = e.code === 1012 ? 250 + Math.random() * 1000 : 250 * 2 ** retry;
      setTimeout(connect, delay);
    });
  }

  function emit(type, event) {
    (listeners[type] || []).forEach((fn) => { try { fn(event); } catch (e) { console.error(e); } });
  }

  window.pagedesk = {
    on(type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
      if (!socket) connect();
    },
  };

  // Elements with data-refresh-on="type1 type2" re-fetch themselves (htmx) when such an event arrives.
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-refresh-on]").forEach((el) => {
      const types = el.dataset.refreshOn.split(/\s+/).concat(["snapshot"]);
      types.forEach((type) => window.pagedesk.on(type, () => window.htmx && htmx.trigger(el, "refresh")));
    });
  });
})();

// Time-in-status counters ([data-since="<ISO time>"], e.g. the presence switch on "My work" and in the
// inbox): filled on every page that shows one, every second and as soon as htmx swaps one in.
(function () {
  "use strict";

  function humanDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
    if (m) return `${m} min`;
    return `${seconds} s`;
  }

  function tickSince() {
    document.querySelectorAll("[data-since]").forEach((el) => {
      const since = Date.parse(el.dataset.since);
      if (!isNaN(since)) el.textContent = humanDuration((Date.now() - since) / 1000);
    });
  }

  window.pagedesk.humanDuration = humanDuration;
  document.addEventListener("DOMContentLoaded", () => {
    tickSince();
    setInterval(tickSince, 1000);
  });
  // A presence change swaps the switch (and its counter) in: show "0 s" at once, not up to 1 s later.
  document.addEventListener("htmx:afterSettle", tickSince);
})();

// Repeating form rows (campaign schedule ranges, holidays, canned responses, members).
// Markup: [data-rows="prefix"] holds a [data-row-list] of [data-row] elements, a <template data-row-template>
// whose fields are named "prefix-__i__-…", and buttons with data-row-action="add|remove|up|down".
// After every change the rows are renumbered in page order, so the server reads them in the order shown.
(function () {
  "use strict";
  const ATTRS = ["name", "id", "for", "aria-labelledby", "aria-describedby"];

  function renumber(container) {
    const prefix = container.dataset.rows;
    const pattern = new RegExp("^" + prefix + "-(\\d+|__i__)-");
    const list = container.querySelector("[data-row-list]");
    Array.from(list.children).filter((el) => el.matches("[data-row]")).forEach((row, index) => {
      [row, ...row.querySelectorAll("*")].forEach((el) => {
        ATTRS.forEach((attr) => {
          const value = el.getAttribute(attr);
          if (value && pattern.test(value)) el.setAttribute(attr, value.replace(pattern, `${prefix}-${index}-`));
        });
      });
      row.querySelectorAll("[data-row-number]").forEach((el) => { el.textContent = String(index + 1); });
    });
    container.dispatchEvent(new CustomEvent("pagedesk:rows-changed", { bubbles: true }));
  }

  function focusFirstField(row) {
    const field = row.querySelector("input:not([type=hidden]), textarea, select");
    if (field) field.focus();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-row-action]");
    if (!button) return;
    const container = button.closest("[data-rows]");
    if (!container) return;
    event.preventDefault();
    const list = container.querySelector("[data-row-list]");
    const row = button.closest("[data-row]");
    const action = button.dataset.rowAction;
    if (action === "add") {
      const template = container.querySelector("template[data-row-template]");
      const fragment = template.content.cloneNode(true);
      const added = fragment.querySelector("[data-row]");
      list.appendChild(fragment);
      renumber(container);
      focusFirstField(added);
      return;
    }
    if (!row) return;
    if (action === "remove") {
      // Keep keyboard focus nearby: the next row's same button, else the previous row's, else "add".
      const neighbour = row.nextElementSibling || row.previousElementSibling;
      container.dispatchEvent(new CustomEvent("pagedesk:row-removed", { bubbles: true, detail: { row } }));
      row.remove();
      renumber(container);
      const next = neighbour && neighbour.querySelector('[data-row-action="remove"]');
      const form = container.closest("form");
      const fallback = container.querySelector('[data-row-action="add"]') || (form && form.querySelector("[data-available]"));
      if (next || fallback) (next || fallback).focus();
    } else if (action === "up" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
      renumber(container);
      button.focus();
    } else if (action === "down" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
      renumber(container);
      button.focus();
    }
  });

  // Dual list (campaign members): options move from the "available" select into member rows and back.
  function setupDualList(form) {
    const available = form.querySelector("[data-available]");
    const container = form.querySelector('[data-rows="member"]');
    const list = container.querySelector("[data-row-list]");
    const template = form.querySelector("template[data-member-template]");
    const empty = form.querySelector("[data-member-empty]");
    const availableEmpty = form.querySelector("[data-available-empty]");
    const sync = () => {
      if (empty) empty.hidden = list.children.length > 0;
      if (availableEmpty) availableEmpty.hidden = available.options.length > 0;
    };

    function addMember(id, name) {
      const fragment = template.content.cloneNode(true);
      const row = fragment.querySelector("[data-row]");
      row.dataset.agentId = id;
      [row, ...row.querySelectorAll("*")].forEach((el) => {
        ATTRS.concat(["value"]).forEach((attr) => {
          const value = el.getAttribute(attr);
          if (value && value.includes("__id__")) el.setAttribute(attr, value.replaceAll("__id__", id));
        });
      });
      row.querySelector("[data-member-name]").textContent = name;  // textContent: names are never HTML
      row.querySelector('input[name="member"]').value = id;
      list.appendChild(fragment);
      return row;
    }

    form.querySelector("[data-member-add]").addEventListener("click", () => {
      const chosen = Array.from(available.selectedOptions);
      chosen.forEach((option) => { addMember(option.value, option.textContent); option.remove(); });
      renumber(container);
      sync();
      if (!chosen.length) available.focus();
    });
    container.addEventListener("pagedesk:row-removed", (event) => {
      const row = event.detail.row;
      const option = new Option(row.querySelector("[data-member-name]").textContent, row.dataset.agentId);
      available.appendChild(option);
      setTimeout(sync);
    });
    container.addEventListener("pagedesk:rows-changed", sync);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-dual-list]").forEach(setupDualList);
  });

  // A filter <select data-autosubmit> applies on change (an inline onchange would break the CSP).
  document.addEventListener("change", (event) => {
    const field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.requestSubmit();
  });

  // Esc answers the "Return N conversations to the queue?" question with its safe choice, Stay.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const stay = document.querySelector("[data-presence-stay]");
    if (!stay) return;
    event.preventDefault();
    // The request Stay's hx-get makes, asked directly: a click on content htmx has not processed yet
    // (it settles swapped content a moment later) would submit the no-script fallback and leave the page.
    if (window.htmx) htmx.ajax("GET", stay.getAttribute("hx-get"), { target: "#presence", swap: "outerHTML" });
    else stay.click();
  });

  // <button data-copy="ID"> copies the value of the field ID (a token shown once) and says so.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    field.select();
    const done = () => { button.textContent = button.dataset.copied || button.textContent; };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(field.value).then(done, () => {});
    else if (document.execCommand("copy")) done();
  });

  // Forms with data-confirm ask before submitting (deletions).
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
