/* spanqa chat page: plain JavaScript, no build step, no remote resources.
 *
 * Rule of this file: text that comes from documents or from the API is only ever
 * inserted as text nodes (textContent / append(string)), never parsed as HTML.
 */
"use strict";

(() => {
  const PAGE_SIZE = 50;
  const byId = (id) => document.getElementById(id);

  const ui = {
    conversation: byId("conversation"),
    welcome: byId("welcome"),
    messages: byId("messages"),
    form: byId("ask-form"),
    question: byId("question"),
    askButton: byId("ask-button"),
    announcer: byId("announcer"),
    newChat: byId("new-chat"),
    serverStatus: byId("server-status"),
    docsToggle: byId("docs-toggle"),
    docsToggleCount: byId("docs-toggle-count"),
    docsPanel: byId("documents-panel"),
    docsHeading: byId("documents-heading"),
    docsTotal: byId("documents-total"),
    docList: byId("document-list"),
    loadMore: byId("load-more"),
    fileInput: byId("file-input"),
    dropzone: byId("dropzone"),
    dropOverlay: byId("drop-overlay"),
    uploadStatus: byId("upload-status"),
    viewer: byId("viewer"),
    viewerTitle: byId("viewer-title"),
    viewerMeta: byId("viewer-meta"),
    viewerBody: byId("viewer-body"),
    viewerJump: byId("viewer-jump"),
    viewerClose: byId("viewer-close"),
  };

  const state = { busy: false, documents: [], total: 0, viewerToken: 0, viewerReturnFocus: null };

  // ---------------------------------------------------------------- helpers

  /** Creates an element; children are nodes or strings (strings become text nodes). */
  function h(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "onClick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  const numberFormat = new Intl.NumberFormat();
  const plural = (n, one, many) => `${numberFormat.format(n)} ${n === 1 ? one : many}`;

  function formatMs(ms) {
    if (!Number.isFinite(ms)) return "";
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  }

  function formatChars(n) {
    if (!Number.isFinite(n)) return "";
    if (n < 1000) return plural(n, "character", "characters");
    if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k characters`;
    return `${(n / 1_000_000).toFixed(1)}M characters`;
  }

  function pageCount(pages) {
    if (Array.isArray(pages)) return pages.length;
    return Number.isFinite(pages) ? pages : 0;
  }

  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const scrollBehavior = () => (reducedMotion.matches ? "auto" : "smooth");

  /** Announces a short message to screen readers (even when it repeats the previous one). */
  function announce(message) {
    ui.announcer.textContent = "";
    window.setTimeout(() => { ui.announcer.textContent = message; }, 50);
  }

  /**
   * The API counts offsets in Unicode code points (Python strings); JavaScript strings
   * count UTF-16 code units. Converts code-point offsets into code-unit offsets.
   */
  function toCodeUnits(text, offsets) {
    if (!/[\uD800-\uDFFF]/.test(text)) return offsets;
    const wanted = [...offsets].map((o, i) => [o, i]).sort((a, b) => a[0] - b[0]);
    const result = new Array(offsets.length);
    let unit = 0;
    let point = 0;
    let next = 0;
    while (next < wanted.length) {
      if (wanted[next][0] === point) { result[wanted[next][1]] = unit; next += 1; continue; }
      if (unit >= text.length) break;
      const code = text.charCodeAt(unit);
      unit += code >= 0xd800 && code <= 0xdbff && unit + 1 < text.length ? 2 : 1;
      point += 1;
    }
    for (; next < wanted.length; next += 1) result[wanted[next][1]] = -1;
    return result;
  }

  /**
   * Returns {fragment, mark}: `text` as text nodes, with the characters [start, end)
   * (code-point offsets from the API) wrapped in a <mark>. Invalid offsets: no mark.
   */
  function highlighted(text, start, end) {
    const fragment = document.createDocumentFragment();
    text = typeof text === "string" ? text : "";
    const valid = Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end;
    if (!valid) { fragment.append(text); return { fragment, mark: null }; }
    const [from, to] = toCodeUnits(text, [start, end]);
    if (from < 0 || to < 0 || to > text.length) { fragment.append(text); return { fragment, mark: null }; }
    const mark = h("mark", {}, text.slice(from, to));
    fragment.append(text.slice(0, from), mark, text.slice(to));
    return { fragment, mark };
  }

  // ------------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  function detailText(body) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((item) => (item && typeof item.msg === "string" ? item.msg : "")).filter(Boolean).join("; ");
    }
    return "";
  }

  function ensureSentence(text) {
    const trimmed = text.trim();
    if (!trimmed) return "";
    const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(capital) ? capital : `${capital}.`;
  }

  /** A readable sentence for an error response: the server's own message when it gave one. */
  function describeError(status, body) {
    const detail = ensureSentence(detailText(body));
    if (status >= 500) return `The server ran into a problem (HTTP ${status}). Please try again.`;
    if (detail) return detail;
    return {
      400: "The request was not understood.",
      401: "This server needs an API key; reload the page to enter one.",
      403: "Your API key does not allow this.",
      404: "That no longer exists.",
      409: "The index is busy; please try again.",
      413: "That is too large for the server.",
      415: "That file type is not supported.",
      422: "The server could not process this request.",
      429: "Too many requests; please wait a moment.",
    }[status] || `The request failed (HTTP ${status}).`;
  }

  const collections = window.spanqaCollection; // collections.js: the picked collection

  /** JSON from the API; `path` is inside the picked collection (/collections/{name}/...) unless `global`. */
  async function api(path, options = {}, { global = false } = {}) {
    let response;
    try {
      const send = window.spanqaAuth ? window.spanqaAuth.fetch : fetch; // auth.js: the API key, if any
      const target = global || !collections ? path : collections.url(path);
      response = await send(target, { headers: { Accept: "application/json" }, ...options });
    } catch (_) {
      setServerStatus(false);
      throw new ApiError("Can't reach the spanqa server. Check that it is running, then try again.", 0);
    }
    setServerStatus(true);
    const raw = response.status === 204 ? "" : await response.text();
    let body = null;
    try { body = raw ? JSON.parse(raw) : null; } catch (_) { body = null; }
    if (!response.ok) {
      if (!global && collections && (response.status === 403 || response.status === 404)) {
        await collections.checkAfter(response.status); // the picked collection gone or not for this key?
      }
      throw new ApiError(describeError(response.status, body), response.status);
    }
    return body;
  }

  function setServerStatus(reachable, detail) {
    ui.serverStatus.classList.toggle("is-down", !reachable);
    ui.serverStatus.classList.toggle("is-up", reachable);
    const label = reachable ? "Ready" : "Server unreachable";
    if (ui.serverStatus.dataset.label !== label) {
      ui.serverStatus.dataset.label = label;
      ui.serverStatus.textContent = label;
    }
    if (detail) ui.serverStatus.title = detail;
  }

  async function checkHealth() {
    try {
      const health = await api("/health", {}, { global: true });
      const models = [health.embedding_model, health.reader_model]
        .filter(Boolean).map((m) => String(m).split("/").filter(Boolean).pop()).join(" · ");
      setServerStatus(true, models ? `Models: ${models}` : undefined);
    } catch (_) {
      setServerStatus(false);
    }
  }

  // ------------------------------------------------------------ conversation

  function scrollToMessage(item) {
    const box = ui.conversation;
    if (item.offsetHeight > box.clientHeight * 0.85) {
      // A tall reply: show its question and the top of the answer rather than its end.
      const question = item.previousElementSibling;
      const top = question && question.classList.contains("msg-user") ? question : item;
      box.scrollTo({ top: top.offsetTop - 12, behavior: scrollBehavior() });
    } else {
      box.scrollTo({ top: box.scrollHeight, behavior: scrollBehavior() });
    }
  }

  function addMessage(item) {
    ui.welcome.hidden = true;
    ui.messages.append(item);
    scrollToMessage(item);
    return item;
  }

  function setBusy(busy) {
    state.busy = busy;
    ui.form.setAttribute("aria-busy", String(busy));
    ui.askButton.disabled = busy;
    ui.askButton.classList.toggle("is-busy", busy);
    ui.askButton.setAttribute("aria-label", busy ? "Asking…" : "Ask");
  }

  /** Confidence as a whole percent, kept within 1..99: the reader is never certain either way. */
  const displayPercent = (confidence) => Math.min(99, Math.max(1, Math.round(confidence * 100)));

  /** Below this calibrated confidence an answer is shown as tentative (more likely wrong than right). */
  const TENTATIVE_BELOW = 0.5;
  const isTentative = (confidence) => Number.isFinite(confidence) && confidence < TENTATIVE_BELOW;

  function confidenceBadge(confidence) {
    if (!Number.isFinite(confidence)) return null;
    const percent = displayPercent(confidence);
    const level = percent >= 70 ? "high" : percent >= 50 ? "medium" : "low";
    return h("span", {
      className: `confidence confidence-${level}`,
      title: `Calibrated: about ${percent} in 100 answers given with this confidence are right`,
    }, `${percent}% confidence`);
  }

  /** The other places the same answer was found (citations after the primary one). */
  function otherPlaces(answer) {
    const others = (answer.citations || []).slice(1);
    if (!others.length) return null;
    return h("div", { className: "other-places" },
      h("p", { className: "other-places-title" },
        others.length === 1 ? "Also found in 1 other place:" : `Also found in ${others.length} other places:`),
      h("ul", { className: "other-places-list" },
        others.map((c) => h("li", { className: "other-place" },
          sourceLine(c.title, c.page, "in"),
          viewButton(c.doc_id, c.start, c.end, `View “${answer.text}” in ${c.title || "Untitled document"}`)))));
  }

  function sourceLine(title, page, prefix = "from") {
    return h("span", { className: "source" },
      `${prefix} `, h("cite", { className: "source-title" }, title || "Untitled document"),
      Number.isInteger(page) ? h("span", { className: "source-page" }, ` · page ${page}`) : null);
  }

  function viewButton(docId, start, end, label) {
    return h("button", {
      type: "button",
      className: "button button-link view-doc",
      "aria-label": label,
      onClick: (event) => openDocument(docId, start, end, event.currentTarget),
    }, "View in document");
  }

  /** One answer: its text, confidence, source, and the passage with the span highlighted. */
  function answerCard(answer, { primary }) {
    const passage = answer.passage || {};
    const { fragment } = highlighted(passage.text, passage.answer_start, passage.answer_end);
    const title = answer.title || "Untitled document";
    const tentative = isTentative(answer.confidence);
    const classes = ["answer-card", primary ? "answer-primary" : "answer-candidate"];
    if (tentative) classes.push("answer-tentative");
    return h("article", { className: classes.join(" ") },
      tentative ? h("p", { className: "tentative-note" }, "Tentative: this answer may well be wrong") : null,
      h("p", { className: "answer-text" }, answer.text),
      h("div", { className: "answer-meta" },
        confidenceBadge(answer.confidence),
        sourceLine(title, answer.page)),
      h("blockquote", { className: "passage" }, fragment),
      h("div", { className: "answer-actions" },
        viewButton(answer.doc_id, answer.start, answer.end, `View “${answer.text}” in ${title}`)),
      otherPlaces(answer));
  }

  function timingFooter(result, elapsedMs) {
    const t = (result && result.timings_ms) || {};
    const parts = ["retrieve", "read", "total"]
      .filter((k) => Number.isFinite(t[k]))
      .map((k) => `${k} ${formatMs(t[k])}`);
    return h("p", {
      className: "timing",
      "data-elapsed-ms": Math.round(elapsedMs),
      title: parts.length ? `Server: ${parts.join(" · ")}` : null,
    }, `Answered in ${formatMs(elapsedMs)}`);
  }

  function answerMessage(result, elapsedMs) {
    const [best, ...others] = result.answers;
    const body = [answerCard(best, { primary: true })];
    if (others.length) {
      body.push(h("details", { className: "candidates" },
        h("summary", {}, others.length === 1 ? "1 other candidate" : `${others.length} other candidates`),
        h("ol", { className: "candidate-list" },
          others.map((answer) => h("li", {}, answerCard(answer, { primary: false }))))));
    }
    body.push(timingFooter(result, elapsedMs));
    const pct = Number.isFinite(best.confidence) ? `, ${displayPercent(best.confidence)}% confidence` : "";
    const hedge = isTentative(best.confidence) ? "Tentative answer" : "Answer";
    announce(`${hedge}: ${best.text}${pct}, from ${best.title || "an untitled document"}.`);
    return h("li", { className: "msg msg-bot" }, body);
  }

  function noAnswerMessage(result, elapsedMs) {
    const passages = result.passages || [];
    const body = [
      h("div", { className: "no-answer", role: "note" },
        h("p", { className: "no-answer-title" }, "No answer found"),
        h("p", { className: "no-answer-text" },
          "The documents don't contain an answer to this question."),
      ),
    ];
    if (passages.length) {
      body.push(h("section", { className: "closest", "aria-label": "Closest passages" },
        h("p", { className: "closest-title" }, "You may look here:"),
        h("ol", { className: "closest-list" }, passages.map((p) => h("li", { className: "closest-item" },
          h("div", { className: "answer-meta" }, sourceLine(p.title, p.page, "in")),
          h("blockquote", { className: "passage passage-clamped" }, p.text || ""),
          h("div", { className: "answer-actions" },
            viewButton(p.doc_id, p.start, p.end, `View this passage in ${p.title || "its document"}`)))))));
    }
    body.push(timingFooter(result, elapsedMs));
    announce("No answer found in the documents." + (passages.length ? " Closest passages are listed." : ""));
    return h("li", { className: "msg msg-bot" }, body);
  }

  function errorMessage(error, retry) {
    announce(error.message);
    const item = h("li", { className: "msg msg-bot" },
      h("div", { className: "error-box", role: "alert" },
        h("p", { className: "error-text" }, error.message),
        retry ? h("button", {
          type: "button",
          className: "button button-quiet",
          onClick: () => { item.remove(); retry(); },
        }, "Try again") : null));
    return item;
  }

  async function ask(question) {
    if (state.busy || !question.trim()) return;
    setBusy(true);
    addMessage(h("li", { className: "msg msg-user" }, h("p", { className: "bubble" }, question)));
    const pending = addMessage(h("li", { className: "msg msg-bot msg-pending" },
      h("p", { className: "thinking" },
        h("span", { className: "dots", "aria-hidden": "true" }, h("span"), h("span"), h("span")),
        " Searching your documents…")));
    announce("Searching your documents…");
    const started = performance.now();
    let reply;
    let result = null;
    try {
      result = await api("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ question }),
      });
      const elapsed = performance.now() - started;
      reply = result.no_answer || !result.answers || !result.answers.length
        ? noAnswerMessage(result, elapsed)
        : answerMessage(result, elapsed);
    } catch (error) {
      const userItem = pending.previousElementSibling;
      reply = errorMessage(error, () => { userItem.remove(); ask(question); });
    } finally {
      setBusy(false);
    }
    pending.replaceWith(reply);
    if (result) reply.dispatchEvent(new CustomEvent("spanqa:reply", { bubbles: true, detail: { question, result } }));
    scrollToMessage(reply);
  }

  function resizeQuestionBox() {
    ui.question.style.height = "auto";
    ui.question.style.height = `${Math.min(ui.question.scrollHeight, 200)}px`;
  }

  function submitQuestion() {
    const question = ui.question.value;
    if (state.busy || !question.trim()) return;
    ui.question.value = "";
    resizeQuestionBox();
    ask(question.trim());
  }

  ui.form.addEventListener("submit", (event) => { event.preventDefault(); submitQuestion(); });
  ui.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitQuestion();
    }
  });
  ui.question.addEventListener("input", resizeQuestionBox);
  ui.newChat.addEventListener("click", () => {
    ui.messages.replaceChildren();
    ui.welcome.hidden = false;
    ui.question.focus();
  });

  // --------------------------------------------------------- document viewer

  async function openDocument(docId, start, end, opener) {
    const token = ++state.viewerToken;
    state.viewerReturnFocus = opener || document.activeElement;
    ui.viewerTitle.textContent = "Loading…";
    ui.viewerMeta.textContent = "";
    ui.viewerJump.hidden = true;
    ui.viewerBody.replaceChildren(h("p", { className: "muted viewer-loading" }, "Loading the document…"));
    if (!ui.viewer.open) ui.viewer.showModal();
    ui.viewerClose.focus();

    let doc;
    try {
      doc = await api(`/documents/${encodeURIComponent(docId)}`);
    } catch (error) {
      if (token !== state.viewerToken) return;
      ui.viewerTitle.textContent = "Document unavailable";
      ui.viewerBody.replaceChildren(h("div", { className: "error-box", role: "alert" },
        h("p", { className: "error-text" }, error.message)));
      return;
    }
    if (token !== state.viewerToken) return;

    ui.viewerTitle.textContent = doc.title || "Untitled document";
    const { fragment, mark } = highlighted(doc.text, start, end);
    const meta = [formatChars((doc.text || "").length)];
    if (Number.isInteger(doc.chunks)) meta.push(plural(doc.chunks, "chunk", "chunks"));
    const pages = Array.isArray(doc.pages) ? doc.pages : [];
    if (pages.length > 1) {
      const page = mark ? pages.find((p) => start >= p.start && start < p.end) : null;
      meta.push(page ? `highlight on page ${page.number} of ${pages.length}` : plural(pages.length, "page", "pages"));
    }
    ui.viewerMeta.textContent = meta.join(" · ");
    ui.viewerBody.replaceChildren(h("div", { className: "doc-text", "data-doc-id": doc.id }, fragment));
    if (mark) {
      mark.id = "viewer-mark";
      mark.tabIndex = -1;
      ui.viewerJump.hidden = false;
      requestAnimationFrame(() => jumpToMark());
    } else {
      ui.viewerBody.scrollTop = 0;
    }
  }

  function jumpToMark() {
    const mark = byId("viewer-mark");
    if (!mark) return;
    mark.scrollIntoView({ block: "center", behavior: "auto" });
    mark.focus({ preventScroll: true });
  }

  ui.viewerJump.addEventListener("click", jumpToMark);
  ui.viewerClose.addEventListener("click", () => ui.viewer.close());
  ui.viewer.addEventListener("click", (event) => { if (event.target === ui.viewer) ui.viewer.close(); });
  ui.viewer.addEventListener("close", () => {
    state.viewerToken += 1;
    ui.viewerBody.replaceChildren();
    const target = state.viewerReturnFocus;
    if (target && target.isConnected) target.focus();
  });

  // -------------------------------------------------------------- documents

  function documentItem(doc) {
    const title = doc.title || doc.id;
    const meta = [formatChars(doc.chars)];
    if (Number.isInteger(doc.chunks)) meta.push(plural(doc.chunks, "chunk", "chunks"));
    const pages = pageCount(doc.pages);
    if (pages > 1) meta.push(plural(pages, "page", "pages"));
    return h("li", { className: "doc-item", "data-doc-id": doc.id },
      h("button", {
        type: "button",
        className: "doc-open",
        title: `Open ${title}`,
        onClick: (event) => openDocument(doc.id, null, null, event.currentTarget),
      },
        h("span", { className: "doc-title" }, title),
        h("span", { className: "doc-meta" }, meta.filter(Boolean).join(" · "))),
      h("button", {
        type: "button",
        className: "icon-button doc-delete",
        "aria-label": `Delete ${title}`,
        title: "Delete",
        onClick: () => deleteDocument(doc),
      }, trashIcon()));
  }

  function trashIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    svg.append(path);
    return svg;
  }

  function renderDocuments() {
    const docs = state.documents;
    ui.docList.setAttribute("aria-busy", "false");
    if (!docs.length) {
      ui.docList.replaceChildren(h("li", { className: "doc-empty muted" },
        "No documents yet. Add a text file to start asking questions."));
    } else {
      ui.docList.replaceChildren(...docs.map(documentItem));
    }
    ui.docsTotal.textContent = state.total ? plural(state.total, "document", "documents") : "";
    ui.docsToggleCount.textContent = state.total ? String(state.total) : "";
    ui.loadMore.hidden = docs.length >= state.total;
  }

  async function loadDocuments({ append = false } = {}) {
    const offset = append ? state.documents.length : 0;
    ui.docList.setAttribute("aria-busy", "true");
    try {
      const page = await api(`/documents?offset=${offset}&limit=${PAGE_SIZE}`);
      const docs = Array.isArray(page.documents) ? page.documents : [];
      state.documents = append ? state.documents.concat(docs) : docs;
      state.total = Number.isInteger(page.total) ? page.total : state.documents.length;
      renderDocuments();
    } catch (error) {
      ui.docList.setAttribute("aria-busy", "false");
      ui.docList.replaceChildren(h("li", { className: "doc-empty error-text" },
        `Couldn't load the documents. ${error.message}`));
    }
  }

  function showStatus(lines) {
    ui.uploadStatus.replaceChildren(...lines.map(({ text, kind, file }) =>
      h("p", { className: `status-line status-${kind}`, "data-file": file }, text)));
  }

  async function deleteDocument(doc) {
    const title = doc.title || doc.id;
    if (!window.confirm(`Delete “${title}”? It will no longer be used to answer questions.`)) return;
    try {
      await api(`/documents/${encodeURIComponent(doc.id)}`, { method: "DELETE" });
      showStatus([{ text: `Deleted “${title}”.`, kind: "ok" }]);
    } catch (error) {
      showStatus([{ text: `Couldn't delete “${title}”. ${error.message}`, kind: "error" }]);
    }
    await loadDocuments();
    ui.docsHeading.focus();
  }

  function uploadOutcome(result, fileName) {
    const title = result.title || fileName;
    const chunks = Number.isInteger(result.chunks) ? ` (${plural(result.chunks, "chunk", "chunks")})` : "";
    if (result.status === "unchanged") return `“${title}” is already indexed.`;
    if (result.status === "replaced") return `Updated “${title}”${chunks}.`;
    return `Added “${title}”${chunks}.`;
  }

  async function uploadFiles(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    if (window.spanqaJobs) { // uploads run as background jobs, with progress (jobs.js)
      ui.dropzone.classList.add("is-uploading");
      await window.spanqaJobs.upload(files, { container: ui.uploadStatus });
      ui.dropzone.classList.remove("is-uploading");
      await loadDocuments();
      return;
    }
    const lines = [];
    ui.dropzone.classList.add("is-uploading");
    for (const file of files) {
      const line = { text: `Adding “${file.name}”…`, kind: "pending", file: file.name };
      lines.push(line);
      showStatus(lines);
      const form = new FormData();
      form.append("file", file, file.name);
      try {
        const result = await api("/documents", { method: "POST", body: form });
        Object.assign(line, { text: uploadOutcome(result, file.name), kind: "ok" });
      } catch (error) {
        Object.assign(line, { text: `Couldn't add “${file.name}”. ${error.message}`, kind: "error" });
      }
      showStatus(lines);
    }
    ui.dropzone.classList.remove("is-uploading");
    await loadDocuments();
  }

  ui.fileInput.addEventListener("change", async () => {
    const files = Array.from(ui.fileInput.files || []);
    ui.fileInput.value = "";
    await uploadFiles(files);
  });
  ui.loadMore.addEventListener("click", () => loadDocuments({ append: true }));
  ui.docsHeading.tabIndex = -1;

  // Drag and drop: files dropped anywhere on the page are uploaded.
  let dragDepth = 0;
  const hasFiles = (event) => Array.from((event.dataTransfer && event.dataTransfer.types) || []).includes("Files");
  const showDropTarget = (on) => {
    ui.dropOverlay.hidden = !on;
    ui.dropzone.classList.toggle("is-dragover", on);
  };
  window.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    showDropTarget(true);
  });
  window.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  window.addEventListener("dragleave", (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) showDropTarget(false);
  });
  window.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    showDropTarget(false);
    uploadFiles(event.dataTransfer.files);
  });

  // Phone width: the documents panel is a drawer opened from the header.
  function setDrawer(open) {
    document.body.classList.toggle("docs-open", open);
    ui.docsToggle.setAttribute("aria-expanded", String(open));
  }
  ui.docsToggle.addEventListener("click", () => setDrawer(!document.body.classList.contains("docs-open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("docs-open") && !ui.viewer.open) {
      setDrawer(false);
      ui.docsToggle.focus();
    }
  });

  // What feedback.js builds on (it adds its buttons on each "spanqa:reply" event).
  window.spanqa = { api, announce, openDocument, h };

  // ------------------------------------------------------------- collections

  function startOver() {
    ui.messages.replaceChildren();
    ui.welcome.hidden = false;
    ui.uploadStatus.replaceChildren();
  }

  /** The question box names the collection asked when it is not `default` (on a phone the picker is in the drawer). */
  function showCollectionInQuestionBox(name) {
    ui.question.placeholder = name && name !== "default" ? `Ask a question in ${name}…` : "Ask a question…";
  }

  if (collections) {
    showCollectionInQuestionBox(collections.current());
    collections.onChange((name) => {
      showCollectionInQuestionBox(name);
      startOver();
      if (ui.viewer.open) ui.viewer.close();
      announce(`Now asking collection ${name}.`);
      loadDocuments();
    });
  }

  // ------------------------------------------------------------------ start
  checkHealth();
  (collections ? collections.ready : Promise.resolve("ok")).then((listed) => {
    if (listed !== "no-key") { loadDocuments(); return; }
    ui.docList.replaceChildren(h("li", { className: "doc-empty error-text" }, // asked once is enough
      `Couldn't load the documents. ${describeError(401, null)}`));
  });
  ui.question.focus();
})();
