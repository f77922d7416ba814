/* spanqa chat page: collections (isolated sets of documents).
 *
 * The picker (#collection) lists the collections this key may use (GET /collections); the choice is kept
 * in sessionStorage (this tab only). Every call of the page about documents, questions, uploads, jobs or
 * feedback goes through `spanqaCollection.url(path)`, which prefixes /collections/{name}. A picked
 * collection that is gone (404) or not allowed for the key (403) gives a readable message and the page
 * falls back to `default` (or the first one the key may use). Admins create collections with "New".
 * Loaded after auth.js, before jobs.js and app.js. Text from the API is only inserted as text nodes.
 */
"use strict";

(() => {
  const STORAGE_KEY = "spanqa-collection";
  const DEFAULT = "default";
  const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;
  const byId = (id) => document.getElementById(id);
  const ui = {
    select: byId("collection"),
    create: byId("new-collection"),
    status: byId("collection-status"),
  };

  const stored = () => {
    try { return sessionStorage.getItem(STORAGE_KEY) || ""; } catch (_) { return ""; }
  };
  const store = (name) => {
    try { sessionStorage.setItem(STORAGE_KEY, name); } catch (_) { /* storage disabled: this page only */ }
  };

  let current = stored() || DEFAULT;
  let known = []; // the names GET /collections listed for this key
  const listeners = [];

  /** `path` (e.g. "/ask") inside collection `name` (the picked one): the one place the page scopes its calls. */
  const url = (path, name = current) => `/collections/${encodeURIComponent(name)}${path}`;

  function el(tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  function sentence(text) {
    const trimmed = String(text || "").trim();
    if (!trimmed) return "";
    const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(capital) ? capital : `${capital}.`;
  }

  function say(message, kind = "info") {
    ui.status.textContent = message;
    ui.status.className = `collection-status is-${kind}`;
  }

  /** JSON from an un-scoped route, with the API key (auth.js); throws an Error with a readable message. */
  async function call(path, options = {}) {
    let response;
    try {
      const send = window.spanqaAuth ? window.spanqaAuth.fetch : fetch;
      response = await send(path, { headers: { Accept: "application/json" }, ...options });
    } catch (_) {
      throw new Error("Can't reach the spanqa server. Check that it is running, then try again.");
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (response.ok) return body;
    const detail = body && typeof body.detail === "string" ? body.detail : "";
    const fallback = { 401: "This server needs an API key.", 403: "Your API key does not allow this.",
      429: "Too many requests; please wait a moment." }[response.status];
    const message = response.status >= 500
      ? `The server ran into a problem (HTTP ${response.status}). Please try again.`
      : sentence(detail) || fallback || `The request failed (HTTP ${response.status}).`;
    throw Object.assign(new Error(message), { status: response.status });
  }

  function fill(collections) {
    known = collections.map((c) => c.name);
    ui.select.replaceChildren(...collections.map((c) => el("option", { value: c.name, textContent: c.name })));
    ui.select.value = current;
  }

  function fallbackName() {
    if (known.includes(DEFAULT)) return DEFAULT;
    return known.length ? known[0] : DEFAULT;
  }

  function choose(name) {
    const changed = name !== current;
    current = name;
    store(name);
    if (ui.select.value !== name) ui.select.value = name;
    if (changed) for (const listener of listeners) listener(name);
  }

  /** Lists the key's collections into the picker; a picked one no longer listed falls back (with a message).
   * Resolves to "ok", "failed", or "no-key" (the server wants a key and none was given). */
  async function refresh() {
    let body;
    try {
      body = await call("/collections");
    } catch (error) {
      say(`Couldn't list the collections. ${error.message}`, "error");
      return error.status === 401 ? "no-key" : "failed";
    }
    fill(Array.isArray(body && body.collections) ? body.collections : []);
    if (!known.length) {
      say("This key cannot use any collection. Ask your spanqa admin for access.", "error");
      return "failed";
    }
    if (!known.includes(current)) {
      const lost = current;
      choose(fallbackName());
      say(`Collection “${lost}” is not available to this key; showing “${current}”.`, "error");
    }
    return "ok";
  }

  /** A scoped call answered 404 or 403: explain it if the picked collection itself is the cause. */
  async function checkAfter(status) {
    const before = current;
    if (status === 403) {
      await refresh();
      if (current === before && known.includes(before)) return;
      say(`This key cannot use collection “${before}”; showing “${current}”.`, "error");
      return;
    }
    await refresh();
    if (current !== before) say(`Collection “${before}” no longer exists; showing “${current}”.`, "error");
  }

  // ------------------------------------------------------------ new collection (admins)

  function buildDialog() {
    const input = el("input", { type: "text", id: "new-collection-name", name: "name", autocomplete: "off",
      required: true, spellcheck: false, maxLength: 40, placeholder: "team-a" });
    const message = el("p", { id: "new-collection-message", className: "key-dialog-message", role: "alert" });
    const cancel = el("button", { type: "button", className: "button button-quiet", textContent: "Cancel" });
    const submit = el("button", { type: "submit", className: "button button-primary", textContent: "Create" });
    const form = el("form", { method: "dialog", className: "key-dialog-form" },
      el("h2", { textContent: "New collection" }),
      el("label", { htmlFor: "new-collection-name", textContent: "Name" }),
      input,
      el("p", { className: "muted", textContent: "Lowercase letters, digits, - and _; up to 40 characters. "
        + "Only admin keys can create collections." }),
      message,
      el("div", { className: "key-dialog-actions" }, cancel, submit));
    const dialog = el("dialog", { id: "new-collection-dialog", className: "key-dialog" }, form);
    document.body.append(dialog);
    return { dialog, form, input, message, cancel, submit };
  }

  function openCreateDialog() {
    const { dialog, form, input, message, cancel, submit } = buildDialog();
    const close = () => { dialog.close(); dialog.remove(); ui.create.focus(); };
    cancel.addEventListener("click", close);
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (!NAME_PATTERN.test(name)) {
        message.textContent = "Use 1 to 40 lowercase letters, digits, - or _, starting with a letter or digit.";
        input.focus();
        return;
      }
      submit.disabled = true;
      message.textContent = "";
      try {
        await call("/collections", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ name }),
        });
      } catch (error) {
        message.textContent = error.status === 403
          ? `Only an admin key can create collections. ${error.message}` : error.message;
        submit.disabled = false;
        return;
      }
      close();
      await refresh();
      choose(name);
      say(`Created collection “${name}”.`, "ok");
    });
    dialog.showModal();
    input.focus();
  }

  ui.select.addEventListener("change", () => {
    say("");
    choose(ui.select.value);
  });
  ui.create.addEventListener("click", openCreateDialog);

  /** Shows "New" to admins only: with auth off (no key needed) anyone may; with a key, the admin-only
   * GET /keys tells (200: admin, 403: not). Creating still answers 403 readably if this guessed wrong. */
  async function showCreateToAdmins() {
    const auth = window.spanqaAuth;
    if (!auth || !auth.hasKey()) { ui.create.hidden = false; return; }
    try {
      const response = await auth.fetch("/keys", { headers: { Accept: "application/json" } });
      ui.create.hidden = response.status === 403;
    } catch (_) { ui.create.hidden = false; }
  }

  const ready = refresh();
  ready.then(showCreateToAdmins);

  window.spanqaCollection = {
    url,
    ready,
    refresh,
    checkAfter,
    current: () => current,
    onChange: (listener) => { listeners.push(listener); },
  };
})();
