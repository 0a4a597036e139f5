// The upload form: the file streamed to POST /upload_asset with a progress bar. XMLHttpRequest
// rather than fetch, because only it reports upload progress.
import {
  NoTokenError,
  apiBase,
  errorText,
  parseObject,
  parseTags,
  pathOf,
  showMessage,
  textWithLinks,
  uiBase,
  writeHeaders,
} from "./api.js";

const form = document.getElementById("upload-form");
const message = document.getElementById("upload-message");
const progress = document.getElementById("upload-progress");
const progressText = document.getElementById("upload-progress-text");
const maxBytes = Number(form.dataset.maxBytes);

function formatSize(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function send(formData, headers) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `${apiBase}/upload_asset`);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((event.loaded / event.total) * 100);
      progress.value = percent;
      progressText.textContent = `${percent}% (${formatSize(event.loaded)} of ${formatSize(event.total)})`;
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        data = null;
      }
      resolve({ status: request.status, data });
    });
    request.addEventListener("error", () => reject(new Error("network")));
    request.addEventListener("abort", () => reject(new Error("aborted")));
    request.send(formData);
  });
}

function explain(status, data) {
  const detail = errorText(status, data);
  if (status === 409) return `This name, version and tag are taken (${detail}). Choose another version or tag.`;
  if (status === 413) return `Too large for this server (${detail}).`;
  if (status === 401) return "The server refused the token; enter it again with the Token button.";
  return `Not uploaded: ${detail}`;
}

async function upload(event) {
  event.preventDefault();
  const file = document.getElementById("upload-file").files[0];
  const fields = {
    asset_name: document.getElementById("upload-name").value.trim(),
    version: document.getElementById("upload-version").value.trim(),
    tag: document.getElementById("upload-tag").value.trim(),
  };
  const missing = Object.entries({ file, name: fields.asset_name, version: fields.version, "version tag": fields.tag })
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length) {
    showMessage(message, "error", `Fill in: ${missing.join(", ")}.`);
    return;
  }
  if (file.size > maxBytes) {
    showMessage(message, "error", `The file is ${formatSize(file.size)}; this server accepts at most ${formatSize(maxBytes)}.`);
    return;
  }
  let metadata;
  try {
    metadata = parseObject(document.getElementById("upload-metadata").value, "Metadata");
  } catch (error) {
    showMessage(message, "error", error.message);
    return;
  }
  const description = {
    asset_name: fields.asset_name,
    asset_version: { version: fields.version, tag: fields.tag },
    asset_metadata: metadata,
    asset_tags: parseTags(document.getElementById("upload-tags").value),
  };
  const formData = new FormData();
  formData.append("asset_metadata", JSON.stringify(description)); // first: checked before the file is stored
  formData.append("asset", file, file.name);
  const button = document.getElementById("upload-submit");
  button.disabled = true;
  progress.value = 0;
  showMessage(message, "info", `Uploading ${file.name}…`);
  try {
    const { status, data } = await send(formData, await writeHeaders());
    if (status === 201) {
      const uri = data.asset_uri;
      progress.value = 100;
      showMessage(
        message,
        "ok",
        textWithLinks("Uploaded as ", [uri, `${uiBase}/asset/${pathOf(uri)}`], ". ", ["See the list", uiBase], "."),
      );
      form.reset();
    } else {
      showMessage(message, "error", explain(status, data));
    }
  } catch (error) {
    showMessage(
      message,
      "error",
      error instanceof NoTokenError
        ? "Not uploaded: this server needs its token."
        : "The upload did not reach the server; check that it is running, then try again.",
    );
  } finally {
    button.disabled = false;
  }
}

form.addEventListener("submit", upload);
