// pagedesk's small shared client: the live-events socket with reconnect, and page helpers.
(function () {
  "use strict";

  // One socket per tab. Pages subscribe to event types; on every (re)connect they are told to
  // re-fetch their snapshot, because events are only hints (ARCHITECTURE.md §6).
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
      emit(event.type, event);
      emit("*", event);
    });
    socket.addEventListener("close", (e) => {
      document.body.dataset.live = "off";
      if (e.code === 4401) return; // logged out: reconnecting would not help
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * 2 ** retry);
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
