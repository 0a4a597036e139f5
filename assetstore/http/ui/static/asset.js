// The asset page: edit tags and metadata (compare-and-swap on the revision), and delete.
import {
  NoTokenError,
  apiWrite,
  errorText,
  parseObject,
  parseTags,
  pathOf,
  showMessage,
  textWithLinks,
  uiBase,
} from "./api.js";

const asset = document.getElementById("asset");
const uri = asset.dataset.uri;
const revision = asset.dataset.revision;
const editMessage = document.getElementById("edit-message");
const deleteMessage = document.getElementById("delete-message");

function reloadLink() {
  return ["Reload the page", window.location.pathname];
}

function conflict(action) {
  return textWithLinks(
    `Someone else changed this asset after you opened this page (you saw revision ${revision}). ` +
      `${action} `,
    reloadLink(),
    " to see the current version, then try again.",
  );
}

async function save(event) {
  event.preventDefault();
  const button = document.getElementById("edit-save");
  let changes;
  try {
    changes = {
      asset_tags: parseTags(document.getElementById("edit-tags").value),
      asset_metadata: parseObject(document.getElementById("edit-metadata").value, "Metadata"),
    };
  } catch (error) {
    showMessage(editMessage, "error", error.message);
    return;
  }
  button.disabled = true;
  showMessage(editMessage, "info", "Saving…");
  try {
    const { status, data } = await apiWrite("PUT", `/asset/${pathOf(uri)}`, {
      json: changes,
      headers: { "If-Match": `"${revision}"` },
    });
    if (status === 200) {
      const url = new URL(window.location.href);
      url.search = new URLSearchParams({ saved: String(data.data.revision) }).toString();
      window.location.replace(url.toString());
      return;
    }
    if (status === 412) {
      showMessage(editMessage, "error", conflict("Your changes were not saved."));
    } else if (status === 404) {
      showMessage(editMessage, "error", "This asset no longer exists: someone deleted it.");
    } else {
      showMessage(editMessage, "error", `Not saved: ${errorText(status, data)}`);
    }
  } catch (error) {
    showMessage(editMessage, "error", notSent(error));
  } finally {
    button.disabled = false;
  }
}

function notSent(error) {
  if (error instanceof NoTokenError) return "Not changed: this server needs its token.";
  return "Could not reach the server; check that it is running, then try again.";
}

async function remove() {
  showMessage(deleteMessage, "info", "Deleting…");
  try {
    const { status, data } = await apiWrite("DELETE", `/asset/${pathOf(uri)}`, {
      headers: { "If-Match": `"${revision}"` },
    });
    if (status === 200) {
      window.location.assign(`${uiBase}?${new URLSearchParams({ deleted: uri })}`);
    } else if (status === 412) {
      showMessage(deleteMessage, "error", conflict("Nothing was deleted."));
    } else if (status === 404) {
      showMessage(deleteMessage, "error", "This asset was already deleted.");
    } else {
      showMessage(deleteMessage, "error", `Not deleted: ${errorText(status, data)}`);
    }
  } catch (error) {
    showMessage(deleteMessage, "error", notSent(error));
  }
}

document.getElementById("edit-form").addEventListener("submit", save);

const dialog = document.getElementById("delete-dialog");
document.getElementById("delete-button").addEventListener("click", () => {
  dialog.returnValue = "";
  dialog.showModal();
});
dialog.addEventListener("close", () => {
  if (dialog.returnValue === "delete") remove();
});
