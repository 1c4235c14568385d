// Recordings list: while a CSV export is being prepared, show a spinner and the row count; the export
// response sets a short-lived cookie carrying our token, which tells us the download has started.
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-export]");
    if (!link) return;
    const status = document.querySelector("[data-export-status]");
    if (!status) return;
    const token = Math.random().toString(36).slice(2, 12);
    const url = new URL(link.href, location.href);
    url.searchParams.set("download_token", token);
    link.href = url.toString();
    status.hidden = false;
    link.setAttribute("aria-disabled", "true");
    const started = Date.now();
    const timer = setInterval(() => {
      const done = document.cookie.split("; ").some((c) => c === `pd_export=${token}`);
      if (done || Date.now() - started > 120000) {
        clearInterval(timer);
        status.hidden = true;
        link.removeAttribute("aria-disabled");
      }
    }, 400);
  });
})();
