// The presence switch in the top bar, and the relative times ("3 min") in the lists and the pane:
// both go stale as time passes or as htmx swaps fresh copies in, and tickSince brings them up to date.
// (app.js ticks the switch's own [data-since] counter.)

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

export function tickSince() {
  tidyPresence();
  document.querySelectorAll("[data-relative]").forEach((el) => {
    const at = Date.parse(el.dataset.relative);
    if (!isNaN(at)) el.textContent = relative(at);
  });
}

export function refreshPresence() {
  const holder = document.querySelector(".inbox-presence");
  if (!holder) return;
  htmx.ajax("GET", holder.dataset.presenceUrl, { target: "#presence", swap: "outerHTML" }).then(tickSince);
}

// The page's clock: every 15 s, and as soon as a fresh presence switch is swapped in.
export function startTicking() {
  tickSince();
  setInterval(tickSince, 15000);
  document.body.addEventListener("htmx:afterSwap", (event) => { if (event.target.id === "presence" || event.detail?.target?.id === "presence") tickSince(); });
}
