// Files attached to the reply: checked against the form's limits (size, type, count) before upload,
// listed as removable chips, and handed to the send.
import { composerError } from "./notices.js";
import { format } from "./util.js";

let files = [];

function sizeText(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function typeAllowed(file, accept) {
  const type = (file.type || "").toLowerCase();
  return accept.split(",").some((rule) => (rule.endsWith("/*") ? type.startsWith(rule.slice(0, -1)) : type === rule));
}

export function renderFiles() {
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

export function addFiles(chosen) {
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

export function hasFiles() { return files.length > 0; }

export function appendFiles(body) { files.forEach((file) => body.append("files", file, file.name)); }

// Forgets the files (a sent reply, a new pane); the chips go with the next renderFiles or pane.
export function clearFiles() { files = []; }
