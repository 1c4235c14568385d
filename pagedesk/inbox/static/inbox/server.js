// Requests to pagedesk: the CSRF token htmx also sends, and answers as { ok, status, data }.

function csrf() {
  const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  return headers["X-CSRFToken"] || "";
}

export async function post(url, body) {
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

export async function get(url) {
  const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("application/json") ? await response.json() : await response.text();
  return { ok: response.ok, status: response.status, data, headers: response.headers };
}

export function errorText(result, fallback) {
  if (result.data && typeof result.data === "object" && result.data.error) return result.data.error.message;
  return fallback || "Something went wrong; try again.";
}
