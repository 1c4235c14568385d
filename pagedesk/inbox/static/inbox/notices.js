// What the page tells the agent: toasts (announced: #toasts is a polite live region) and the error
// line under the reply box.

export function toast(text, kind) {
  const box = document.getElementById("toasts");
  const item = document.createElement("p");
  item.className = "toast" + (kind ? " toast-" + kind : "");
  item.textContent = text; // never HTML: messages can quote customer names
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "bad" ? 9000 : 5000);
}

export function composerError(text, kind) {
  const box = document.getElementById("composer-error");
  if (!box) return;
  box.textContent = text || "";
  box.dataset.kind = text ? kind || "" : "";
}
