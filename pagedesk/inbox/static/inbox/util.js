// Helpers that know nothing about the inbox.

export function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return template.content;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// Fills a translated "%(name)s" template the server put in a data- attribute.
export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_m, key) => values[key] ?? "");
}
