// The registry page: each store's live health, register a store, remove one.
import {
  NoTokenError,
  apiWrite,
  errorText,
  parseObject,
  parseTags,
  showMessage,
  uiBase,
} from "./api.js";

const UP = new Set(["healthy"]);
const summary = document.getElementById("health-summary");
const storesMessage = document.getElementById("stores-message");

function rows() {
  return [...document.querySelectorAll("tr.store-row")];
}

function showSummary() {
  if (!summary) return;
  const all = rows();
  const checked = all.filter((row) => row.querySelector(".health").dataset.health !== "checking");
  const up = checked.filter((row) => row.querySelector(".health").dataset.health === "up");
  if (checked.length < all.length) {
    summary.textContent = `Checking health… ${checked.length} of ${all.length} done.`;
  } else {
    summary.textContent = `${up.length} of ${all.length} stores on this page healthy.`;
  }
}

function showHealth(row, report) {
  const cell = row.querySelector(".health");
  const badge = cell.querySelector(".badge");
  const detail = cell.querySelector(".health-detail");
  const up = UP.has(report.status);
  cell.dataset.health = up ? "up" : "down";
  badge.className = `badge ${up ? "ok" : "down"}`;
  badge.textContent = report.status;
  let text = "";
  if (!up) text = report.error || (report.http_status ? `HTTP ${report.http_status}` : "");
  detail.textContent = text;
  row.querySelector(".latency").textContent =
    typeof report.latency_ms === "number" ? `${Math.round(report.latency_ms)} ms` : "";
  showSummary();
}

async function check(row) {
  const cell = row.querySelector(".health");
  cell.dataset.health = "checking";
  cell.querySelector(".badge").className = "badge";
  cell.querySelector(".badge").textContent = "checking…";
  cell.querySelector(".health-detail").textContent = "";
  showSummary();
  try {
    const response = await fetch(`${uiBase}/registry/health/${encodeURIComponent(row.dataset.id)}`, {
      credentials: "omit",
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    showHealth(row, await response.json());
  } catch (error) {
    showHealth(row, { status: "unknown", error: `could not check: ${error.message}` });
  }
}

const dialog = document.getElementById("remove-dialog");
let removing = null;

async function remove(row) {
  const name = row.dataset.name;
  showMessage(storesMessage, "info", `Removing ${name}…`);
  try {
    const { status, data } = await apiWrite("DELETE", `/asset_registry/${encodeURIComponent(row.dataset.id)}`);
    if (status === 200 || status === 404) {
      row.remove();
      showMessage(storesMessage, "ok", `Removed ${name} from the registry.`);
      showSummary();
    } else {
      showMessage(storesMessage, "error", `Not removed: ${errorText(status, data)}`);
    }
  } catch (error) {
    showMessage(
      storesMessage,
      "error",
      error instanceof NoTokenError ? "Not removed: this server needs its token." : "Could not reach the server.",
    );
  }
}

for (const row of rows()) {
  row.querySelector(".recheck").addEventListener("click", () => check(row));
  row.querySelector(".remove-store").addEventListener("click", () => {
    removing = row;
    document.getElementById("remove-dialog-name").textContent = row.dataset.name;
    dialog.returnValue = "";
    dialog.showModal();
  });
  check(row);
}

dialog?.addEventListener("close", () => {
  if (dialog.returnValue === "remove" && removing) remove(removing);
  removing = null;
});

async function register(event) {
  event.preventDefault();
  const message = document.getElementById("register-message");
  const name = document.getElementById("register-name").value.trim();
  const url = document.getElementById("register-url").value.trim();
  if (!name || !url) {
    showMessage(message, "error", "Fill in the name and the public URL.");
    return;
  }
  let metadata;
  try {
    metadata = parseObject(document.getElementById("register-metadata").value, "Metadata");
  } catch (error) {
    showMessage(message, "error", error.message);
    return;
  }
  const entry = {
    asset_registry_name: name,
    asset_registry_public_url: url,
    asset_registry_tags: parseTags(document.getElementById("register-tags").value),
    asset_registry_metadata: metadata,
  };
  const checkFirst = document.getElementById("register-check").checked;
  showMessage(message, "info", checkFirst ? "Checking its health, then registering…" : "Registering…");
  try {
    const path = checkFirst ? "/asset_registry" : "/asset_registry?check_health=false";
    const { status, data } = await apiWrite("POST", path, { json: entry });
    if (status === 201) {
      window.location.assign(`${uiBase}/registry?${new URLSearchParams({ registered: name })}`);
    } else {
      showMessage(message, "error", `Not registered: ${errorText(status, data)}`);
    }
  } catch (error) {
    showMessage(
      message,
      "error",
      error instanceof NoTokenError ? "Not registered: this server needs its token." : "Could not reach the server.",
    );
  }
}

document.getElementById("register-form").addEventListener("submit", register);
