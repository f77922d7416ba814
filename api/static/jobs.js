/* spanqa chat page: uploads as background ingestion jobs (POST /jobs, then GET /jobs/{id} until it ends),
 * in the collection picked when the upload starts (collections.js).
 *
 * Each upload (the files picked or dropped at once) is one job, shown in #upload-status as a block with
 * a progress bar, a Cancel button while it runs, and one status line per file: pending, added, or the
 * file's own error. Archives (.zip, .tar.gz, .tgz) list their entries as the job reports them.
 * Text from the API is only ever inserted as text nodes. app.js calls `window.spanqaJobs.upload`.
 */
"use strict";

(() => {
  const POLL_MS = 400;
  const numberFormat = new Intl.NumberFormat();
  const plural = (n, one, many) => `${numberFormat.format(n)} ${n === 1 ? one : many}`;

  function h(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function sentence(text) {
    const trimmed = String(text || "").trim();
    if (!trimmed) return "";
    const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(capital) ? capital : `${capital}.`;
  }

  function detailOf(body, status) {
    const detail = body && typeof body.detail === "string" ? body.detail : "";
    if (status >= 500) return `The server ran into a problem (HTTP ${status}). Please try again.`;
    return sentence(detail) || `The request failed (HTTP ${status}).`;
  }

  /** JSON from `path` inside collection `collection` (collections.js prefixes /collections/{name}). */
  async function call(collection, path, options = {}) {
    let response;
    try {
      const send = window.spanqaAuth ? window.spanqaAuth.fetch : fetch; // auth.js: the API key, if any
      const scoped = window.spanqaCollection;
      const target = scoped ? scoped.url(path, collection) : path;
      response = await send(target, { headers: { Accept: "application/json" }, ...options });
    } catch (_) {
      throw new Error("Can't reach the spanqa server. Check that it is running, then try again.");
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) throw Object.assign(new Error(detailOf(body, response.status)), { status: response.status });
    return body;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** One upload's block: progress bar, summary, cancel button, a line per file. */
  class JobView {
    constructor(container, files) {
      this.lines = new Map();
      this.summary = h("p", { className: "job-summary" }, `Uploading ${plural(files.length, "file", "files")}…`);
      this.bar = h("progress", { className: "job-progress", max: 1, value: 0, "aria-label": "Upload progress" });
      this.cancel = h("button", { type: "button", className: "button button-quiet job-cancel", hidden: true }, "Cancel");
      this.list = h("div", { className: "job-files" });
      this.node = h("div", { className: "job", "aria-busy": "true" },
        h("div", { className: "job-head" }, this.summary, this.cancel), this.bar, this.list);
      for (const ended of container.querySelectorAll(".job[aria-busy='false']")) ended.remove();
      for (const old of container.querySelectorAll(":scope > .status-line")) old.remove();
      container.prepend(this.node);
      for (const file of files) this.line(file.name, "pending", `Adding “${file.name}”…`);
    }

    line(file, kind, text) {
      let node = this.lines.get(file);
      if (!node) {
        node = h("p", { "data-file": file });
        this.lines.set(file, node);
        this.list.append(node);
      }
      node.className = `status-line status-${kind}`;
      node.textContent = text;
    }

    failAll(message) {
      for (const file of this.lines.keys()) this.line(file, "error", `Couldn't add “${file}”. ${message}`);
      this.finish();
    }

    show(job) {
      const total = Math.max(job.total, 1);
      this.bar.max = total;
      this.bar.value = job.processed;
      this.node.dataset.job = job.id;
      this.node.dataset.status = job.status;
      for (const doc of job.documents) this.line(doc.file, "ok", outcome(doc));
      for (const failure of job.failed) {
        this.line(failure.file, "error", `Couldn't add “${failure.file}”. ${sentence(failure.error)}`);
      }
      const running = job.status === "queued" || job.status === "running";
      this.cancel.hidden = !running;
      this.summary.textContent = running
        ? `Adding files: ${numberFormat.format(job.processed)} of ${plural(job.total, "file", "files")}…`
        : summaryOf(job);
      if (!running) {
        for (const [file, node] of this.lines) {
          if (node.classList.contains("status-pending")) this.line(file, "error", `Not added: the upload was ${job.status}.`);
        }
        this.finish();
      }
    }

    finish() {
      this.cancel.hidden = true;
      this.node.setAttribute("aria-busy", "false");
    }
  }

  function outcome(doc) {
    const title = doc.title || doc.file;
    const chunks = Number.isInteger(doc.chunks) ? ` (${plural(doc.chunks, "chunk", "chunks")})` : "";
    if (doc.status === "unchanged") return `“${title}” is already indexed.`;
    if (doc.status === "replaced") return `Updated “${title}”${chunks}.`;
    return `Added “${title}”${chunks}.`;
  }

  function summaryOf(job) {
    const stored = job.added + job.replaced + job.unchanged;
    const parts = [`${plural(stored, "document", "documents")} added`];
    if (job.failed.length) parts.push(`${plural(job.failed.length, "file", "files")} failed`);
    const head = { done: "Done", cancelled: "Cancelled", failed: "Stopped" }[job.status] || "Done";
    const reason = job.status === "failed" && job.error ? ` ${sentence(job.error)}` : "";
    return `${head}: ${parts.join(", ")}.${reason}`;
  }

  /** Uploads `files` as one job and follows it to its end; resolves with the job (or null on error). */
  async function upload(files, { container, onProgress } = {}) {
    const view = new JobView(container, files);
    // The job lives in the collection picked now, even if the picker changes while it runs.
    const collection = window.spanqaCollection ? window.spanqaCollection.current() : undefined;
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    let job;
    try {
      job = await call(collection, "/jobs", { method: "POST", body: form });
    } catch (error) {
      view.failAll(error.message);
      return null;
    }
    view.cancel.addEventListener("click", async () => {
      view.cancel.disabled = true;
      try { view.show(await call(collection, `/jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" })); } catch (_) { /* ended */ }
    });
    view.show(job);
    let failures = 0;
    while (job.status === "queued" || job.status === "running") {
      await sleep(POLL_MS);
      try {
        job = await call(collection, `/jobs/${encodeURIComponent(job.id)}`);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures >= 10) { view.failAll(error.message); return null; }
        continue;
      }
      view.show(job);
      if (onProgress) onProgress(job);
    }
    return job;
  }

  window.spanqaJobs = { upload };
})();
