// The page's way to the API: the token (kept in sessionStorage, for this tab only), and
// writes that are never "simple" cross-site requests: a JSON body or a custom header, the
// token in the Authorization header, same origin, no cookies.

const TOKEN_KEY = "assetstore.token";
const body = document.body;

/** The path prefix of the API (empty unless the service is mounted under a root path). */
export const apiBase = body.dataset.api || "";
/** The path prefix of the pages. */
export const uiBase = body.dataset.ui || "/ui";
/** Whether the server was started with a token (writes need it). */
export const writesNeedToken = body.dataset.writesNeedToken === "true";

/** The token entered in this tab, or null. */
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  showTokenState();
}

/** Update the header's token button to say whether a token is set. */
export function showTokenState() {
  const state = document.getElementById("token-state");
  if (!state) return;
  if (getToken()) state.textContent = "Token set";
  else state.textContent = writesNeedToken ? "Enter token" : "No token needed";
}

/** Open the token dialog (with `reason` shown) and resolve to the token saved, or null. */
export function askToken(reason) {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  document.getElementById("token-reason").textContent = reason || "";
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue === "save" && input.value.trim()) setToken(input.value.trim());
        else if (dialog.returnValue === "forget") setToken(null);
        input.value = "";
        resolve(getToken());
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

/** An asset URI (or any name with "/") as a URL path: each segment percent-encoded. */
export function pathOf(text) {
  return text.split("/").map(encodeURIComponent).join("/");
}

/** Raised when the user declines to give a token a write needs. */
export class NoTokenError extends Error {}

/** The headers of a write: the custom header that makes it non-simple, and the token. */
export async function writeHeaders(extra = {}) {
  if (writesNeedToken && !getToken()) {
    await askToken("This change needs the server's token.");
    if (!getToken()) throw new NoTokenError("no token given: nothing was changed");
  }
  const headers = { "X-Requested-With": "assetstore-ui", ...extra };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** The error text of an API answer (its envelope's `error`), or the HTTP status. */
export function errorText(status, data) {
  if (data && typeof data.error === "string") return data.error;
  return `HTTP ${status}`;
}

async function parsed(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * Send a write to the API and return {status, data}. `json` is sent as the JSON body. A 401
 * forgets the token, asks for it again and retries once.
 */
export async function apiWrite(method, path, { json, headers = {} } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const extra = { ...headers };
    if (json !== undefined) extra["Content-Type"] = "application/json";
    const response = await fetch(apiBase + path, {
      method,
      headers: await writeHeaders(extra),
      body: json === undefined ? undefined : JSON.stringify(json),
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
    });
    const data = await parsed(response);
    if (response.status !== 401 || attempt > 0) return { status: response.status, data };
    setToken(null);
    await askToken("The server refused the token. Enter it again.");
    if (!getToken()) return { status: response.status, data };
  }
}

/** Show `text` in the message area `element`, styled as `kind` (ok, error, info). */
export function showMessage(element, kind, text) {
  element.className = `message ${kind}`;
  element.replaceChildren();
  if (text instanceof Node) element.append(text);
  else element.textContent = text;
}

/** A paragraph of text with links: parts are strings or [label, href] pairs. */
export function textWithLinks(...parts) {
  const paragraph = document.createElement("p");
  for (const part of parts) {
    if (typeof part === "string") {
      paragraph.append(part);
    } else {
      const link = document.createElement("a");
      link.textContent = part[0];
      link.href = part[1];
      paragraph.append(link);
    }
  }
  return paragraph;
}

/** Parse a comma-separated list of tags. */
export function parseTags(text) {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** Parse an optional JSON object; throws an Error that says what is wrong. */
export function parseObject(text, what) {
  if (!text.trim()) return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${error.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object, like {"key": "value"}`);
  }
  return value;
}
