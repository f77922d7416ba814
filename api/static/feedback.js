/* spanqa chat page: feedback on answers (POST /feedback).
 *
 * Each reply app.js shows is announced with a "spanqa:reply" event ({question, result}); this
 * file adds "Right" / "Wrong" buttons (thumbs up / down) to each answer card and to a "no answer"
 * reply. On "Wrong" the person can select the right words in the document view (the viewer dialog
 * gets a bar while a correction is pending), say the documents do not hold the answer, or just
 * mark it wrong. Offsets sent are Unicode code points into the document's stored text, as the API
 * counts them. Text from documents or the API is only inserted as text nodes.
 */
"use strict";

(() => {
  const app = window.spanqa;
  if (!app) return;
  const viewer = document.getElementById("viewer");
  const viewerBody = document.getElementById("viewer-body");

  const { h } = app; // creates an element; strings become text nodes (app.js)

  // ------------------------------------------------------ the viewer's correction bar

  let pending = null; // {question, answer, panel}: a "wrong" waiting for the right words
  const barStatus = h("p", { className: "feedback-bar-status", role: "status", "aria-live": "polite" });
  const bar = h("footer", { className: "feedback-bar", hidden: true, "aria-label": "Correct the answer" },
    h("p", { className: "feedback-bar-hint" },
      "Select the words that answer the question in the text above, then send them."),
    h("div", { className: "feedback-bar-actions" },
      h("button", { type: "button", className: "button button-primary", onClick: sendSelection },
        "Send selected words as the right answer"),
      h("button", { type: "button", className: "button button-quiet", onClick: () => cancel() },
        "Cancel correction")),
    barStatus);
  viewer.append(bar);
  // Pressing a button would clear the selection it is about to send: keep it (and the focus) where it is.
  for (const button of bar.querySelectorAll("button")) button.addEventListener("mousedown", (e) => e.preventDefault());
  // A drag that starts on the highlighted answer selects nothing while the highlight can take focus.
  viewerBody.addEventListener("mousedown", (event) => {
    if (pending && event.target.id === "viewer-mark") event.target.removeAttribute("tabindex");
  }, true);

  function setPending(next) {
    if (pending && pending !== next) pending.panel.classList.remove("is-waiting");
    pending = next;
    bar.hidden = !pending;
    barStatus.textContent = "";
  }

  function cancel() {
    if (!pending) return;
    const { panel } = pending;
    setPending(null);
    panel.querySelector(".feedback-status").textContent = "Correction cancelled.";
  }

  /** Code points in `text` (the API's offsets) from UTF-16 code units (the browser's). */
  const codePoints = (text) => [...text].length;

  /** The selection inside the open document as {doc_id, start, end, text}, trimmed of spaces; or null. */
  function selectedSpan() {
    const docText = viewerBody.querySelector(".doc-text[data-doc-id]");
    const selection = window.getSelection();
    if (!docText || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    if (!docText.contains(range.startContainer) || !docText.contains(range.endContainer)) return null;
    const before = document.createRange();
    before.setStart(docText, 0);
    before.setEnd(range.startContainer, range.startOffset);
    const prefix = before.toString();
    const chosen = range.toString();
    const lead = chosen.length - chosen.trimStart().length;
    const words = chosen.trim();
    if (!words) return null;
    const start = codePoints(prefix) + codePoints(chosen.slice(0, lead));
    return { doc_id: docText.dataset.docId, start, end: start + codePoints(words), text: words };
  }

  async function sendSelection() {
    if (!pending) return;
    const span = selectedSpan();
    if (!span) {
      barStatus.textContent = "Select some words of the document first (drag over them, or double-click a word).";
      return;
    }
    const { question, answer, panel } = pending;
    barStatus.textContent = "Sending…";
    const correction = { doc_id: span.doc_id, start: span.start, end: span.end };
    const sent = await send(panel, question, answer, "wrong", correction, `Thanks: “${span.text}” was recorded as the right answer.`);
    if (sent) {
      setPending(null);
      viewer.close();
    } else {
      barStatus.textContent = panel.querySelector(".feedback-status").textContent;
    }
  }

  // ------------------------------------------------------------ sending feedback

  function citationOf(answer) {
    return answer ? { doc_id: answer.doc_id, start: answer.start, end: answer.end } : null;
  }

  async function send(panel, question, answer, verdict, correction, thanks) {
    const status = panel.querySelector(".feedback-status");
    const body = { question, answer: citationOf(answer), verdict };
    if (correction) body.correction = correction;
    panel.setAttribute("aria-busy", "true");
    try {
      const record = await app.api("/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      panel.dataset.feedbackId = record.id;
      panel.classList.add("is-sent");
      panel.classList.remove("is-waiting", "is-error");
      for (const button of panel.querySelectorAll("button")) button.disabled = true;
      panel.querySelector(".feedback-choices")?.remove();
      status.textContent = thanks;
      app.announce(thanks);
      return true;
    } catch (error) {
      panel.classList.add("is-error");
      status.textContent = `Feedback not recorded: ${error.message}`;
      return false;
    } finally {
      panel.removeAttribute("aria-busy");
    }
  }

  // ------------------------------------------------------------ the buttons

  function choices(panel, question, answer) {
    const selectLabel = answer ? "Select the right words in the document" : "Select the right words in a document";
    return h("div", { className: "feedback-choices", role: "group", "aria-label": "What is the right answer?" },
      h("button", {
        type: "button",
        className: "button button-quiet",
        onClick: (event) => {
          setPending({ question, answer, panel });
          panel.classList.add("is-waiting");
          panel.querySelector(".feedback-status").textContent = answer
            ? "Select the right words in the document, then send them."
            : "Open a document (View in document) and select the right words, then send them.";
          if (answer) app.openDocument(answer.doc_id, answer.start, answer.end, event.currentTarget);
        },
      }, selectLabel),
      answer ? h("button", {
        type: "button",
        className: "button button-quiet",
        onClick: () => send(panel, question, answer, "wrong", { no_answer: true },
          "Thanks: recorded that the documents do not answer this."),
      }, "Not in the documents") : null,
      h("button", {
        type: "button",
        className: "button button-quiet",
        onClick: () => send(panel, question, answer, "wrong", null, "Thanks: recorded as wrong."),
      }, "Just mark it wrong"));
  }

  function feedbackPanel(question, answer) {
    const what = answer ? `the answer “${answer.text}”` : "“no answer”";
    const panel = h("div", { className: "feedback", role: "group", "aria-label": `Feedback on ${what}` });
    const right = h("button", {
      type: "button",
      className: "button button-quiet feedback-up",
      "aria-label": `Right: ${what} is correct`,
      "aria-pressed": "false",
      onClick: () => {
        right.setAttribute("aria-pressed", "true");
        send(panel, question, answer, "correct", null, "Thanks: recorded as right.");
      },
    }, h("span", { "aria-hidden": "true" }, "✓"), " Right");
    const wrong = h("button", {
      type: "button",
      className: "button button-quiet feedback-down",
      "aria-label": `Wrong: ${what} is not correct`,
      "aria-pressed": "false",
      onClick: () => {
        wrong.setAttribute("aria-pressed", "true");
        right.disabled = true;
        wrong.disabled = true;
        const options = choices(panel, question, answer);
        panel.insertBefore(options, panel.querySelector(".feedback-status"));
        options.querySelector("button").focus();
      },
    }, h("span", { "aria-hidden": "true" }, "✗"), " Wrong");
    panel.append(h("span", { className: "feedback-label" }, "Was this right?"), right, wrong,
      h("p", { className: "feedback-status", role: "status", "aria-live": "polite" }));
    return panel;
  }

  document.getElementById("messages").addEventListener("spanqa:reply", (event) => {
    const { question, result } = event.detail || {};
    if (!question || !result) return;
    const reply = event.target;
    const answers = result.no_answer ? [] : result.answers || [];
    const cards = reply.querySelectorAll(".answer-card");
    if (answers.length && cards.length) {
      cards.forEach((card, i) => { if (answers[i]) card.append(feedbackPanel(question, answers[i])); });
    } else if (reply.querySelector(".no-answer")) {
      reply.querySelector(".no-answer").after(feedbackPanel(question, null));
    }
  });
})();
