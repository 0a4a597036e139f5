// On every page: the header's token button and the copy buttons.
import { askToken, showTokenState } from "./api.js";

showTokenState();

document.getElementById("token-button")?.addEventListener("click", () => {
  askToken("");
});

async function copyFrom(button) {
  const source = document.getElementById(button.dataset.copy);
  const status = document.getElementById("copy-status");
  const label = button.textContent.replace(/^Copy /, "");
  try {
    await navigator.clipboard.writeText(source.value);
    status.textContent = `Copied the ${label}.`;
  } catch {
    // No clipboard access (a plain-http address other than localhost): select it instead.
    source.focus();
    source.select();
    status.textContent = `Selected the ${label}: press Ctrl+C (or ⌘C) to copy it.`;
  }
}

for (const button of document.querySelectorAll("button.copy[data-copy]")) {
  button.addEventListener("click", () => copyFrom(button));
}
