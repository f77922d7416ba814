/* spanqa chat page: API keys. When the server answers 401, ask for a key (kept in sessionStorage:
 * this tab only, gone when it closes), then send it as `Authorization: Bearer KEY` on every request.
 * app.js calls `window.spanqaAuth.fetch` in place of `fetch`. No inline scripts (CSP).
 */
"use strict";

(() => {
  const STORAGE_KEY = "spanqa-api-key";
  let prompting = null; // one dialog for every request that got 401 at the same time

  const storedKey = () => {
    try { return sessionStorage.getItem(STORAGE_KEY) || ""; } catch (_) { return ""; }
  };
  const storeKey = (key) => {
    try {
      if (key) sessionStorage.setItem(STORAGE_KEY, key); else sessionStorage.removeItem(STORAGE_KEY);
    } catch (_) { /* storage disabled: the key lives as long as this page */ }
    memoryKey = key;
  };
  let memoryKey = storedKey();

  function el(tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  function buildDialog() {
    const input = el("input", { type: "password", id: "api-key-input", name: "key", autocomplete: "off",
      required: true, spellcheck: false, placeholder: "spanqa_…" });
    const message = el("p", { id: "api-key-message", className: "key-dialog-message" });
    const cancel = el("button", { type: "button", className: "button button-quiet", textContent: "Cancel" });
    const submit = el("button", { type: "submit", className: "button button-primary", textContent: "Use this key" });
    const form = el("form", { method: "dialog", className: "key-dialog-form" },
      el("h2", { textContent: "This server needs an API key" }),
      message,
      el("label", { htmlFor: "api-key-input", textContent: "API key" }),
      input,
      el("p", { className: "muted", textContent: "Kept for this tab only. Ask your spanqa admin for a key." }),
      el("div", { className: "key-dialog-actions" }, cancel, submit));
    const dialog = el("dialog", { id: "api-key-dialog", className: "key-dialog" }, form);
    document.body.append(dialog);
    return { dialog, form, input, message, cancel };
  }

  function askForKey(reason) {
    if (prompting) return prompting;
    prompting = new Promise((resolve) => {
      const { dialog, form, input, message, cancel } = buildDialog();
      message.textContent = reason;
      const finish = (key) => {
        dialog.close();
        dialog.remove();
        prompting = null;
        resolve(key);
      };
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (key) finish(key);
      });
      cancel.addEventListener("click", () => finish(null));
      dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(null); });
      dialog.showModal();
      input.focus();
    });
    return prompting;
  }

  async function authFetch(path, options = {}) {
    let reason = "Enter a key to use this page.";
    for (;;) {
      const headers = new Headers(options.headers || {});
      if (memoryKey) headers.set("Authorization", `Bearer ${memoryKey}`);
      const response = await fetch(path, { ...options, headers });
      if (response.status !== 401) return response;
      if (memoryKey) reason = "That key was not accepted (unknown or revoked). Enter another one.";
      storeKey("");
      const key = await askForKey(reason);
      if (!key) return response;
      storeKey(key);
    }
  }

  window.spanqaAuth = { fetch: authFetch, forget: () => storeKey(""), hasKey: () => Boolean(memoryKey) };
})();
