// Board and transcript helpers: throttled live refresh, ticking timers, client-side table sorting.
(function () {
  "use strict";

  // app.js fires "refresh" on [data-refresh-on] elements for every matching event and on (re)connect.
  // A busy floor can send dozens a second, so [data-throttle-refresh] turns them into at most one
  // "pd-refresh" (the element's hx-trigger) per 500 ms. Unlike htmx's own `throttle:` modifier, the
  // trailing event is kept: the last change of a burst is always fetched.
  const INTERVAL = 500;

  function throttle(el) {
    let last = 0;
    let timer = null;
    const fire = () => {
      timer = null;
      last = Date.now();
      window.htmx.trigger(el, "pd-refresh");
    };
    return () => {
      if (timer) return;
      const wait = INTERVAL - (Date.now() - last);
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    };
  }

  // Timers tick from the server's clock, not the browser's: the offset is measured at each render.
  let offset = 0;
  function readServerNow(root) {
    const holder = root.querySelector("[data-server-now]") || (root.matches && root.matches("[data-server-now]") ? root : null);
    if (holder) offset = Date.parse(holder.dataset.serverNow) - Date.now();
  }

  function format(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  }

  function tick() {
    const now = Date.now() + offset;
    document.querySelectorAll("[data-tick-from]").forEach((el) => {
      const from = Date.parse(el.dataset.tickFrom);
      if (!Number.isNaN(from)) el.textContent = format((now - from) / 1000);
    });
  }

  // Sorting: header buttons carry data-sort-key; rows carry data-sort-<key>. Numbers sort numerically.
  // The choice survives live refreshes (it is re-applied after every swap).
  const sortState = {};
  const STATUS_ORDER = { free: 0, busy: 1, wrap_up: 2, break: 3, offline: 4 };

  function sortValue(row, key) {
    const raw = row.dataset["sort" + key.charAt(0).toUpperCase() + key.slice(1)] || "";
    if (key === "status") return STATUS_ORDER[raw] ?? 9;
    const number = Number(raw);
    return raw !== "" && !Number.isNaN(number) ? number : raw;
  }

  function applySort(table) {
    const state = sortState[table.id];
    if (!state) return;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).filter((row) => !row.querySelector(".empty"));
    rows.sort((a, b) => {
      const x = sortValue(a, state.key);
      const y = sortValue(b, state.key);
      const cmp = x < y ? -1 : x > y ? 1 : 0;
      return state.dir === "ascending" ? cmp : -cmp;
    });
    rows.forEach((row) => body.appendChild(row));
    table.querySelectorAll("th").forEach((th) => {
      const button = th.querySelector("[data-sort-key]");
      if (!button) return;
      th.setAttribute("aria-sort", button.dataset.sortKey === state.key ? state.dir : "none");
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("table[data-sortable] [data-sort-key]");
    if (!button) return;
    const table = button.closest("table");
    const key = button.dataset.sortKey;
    const current = sortState[table.id] || { key: "name", dir: "ascending" };
    const dir = current.key === key && current.dir === "ascending" ? "descending" : "ascending";
    sortState[table.id] = { key, dir };
    applySort(table);
    button.focus();
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-throttle-refresh]").forEach((el) => {
      el.addEventListener("refresh", throttle(el));
    });
    readServerNow(document);
    tick();
    setInterval(tick, 1000);
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    readServerNow(event.target);
    event.target.querySelectorAll("table[data-sortable]").forEach(applySort);
    tick();
  });
})();
