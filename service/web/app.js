/* citeqa web chat. Plain JS, no dependencies; runs under a strict CSP
 * (no inline scripts or styles). Every string that comes from the user, the
 * answer or the corpus is inserted as text (textContent / text nodes), never as HTML. */
(function () {
  "use strict";

  var ASK_URL = "/v1/ask";
  var DOC_URL = "/v1/documents/";
  var ASK_TIMEOUT_MS = 120000;
  var EXCERPT_CHARS = 220;
  var PREVIEW_CHARS = 260;
  var SPAN_EXCERPT_CHARS = 120;
  var CHAT_STORE = "citeqa.chat";
  var KEPT_ENTRIES = 60; // messages kept across a reload
  var COPY_LABEL = "Copy with sources";

  var els = {};
  var answers = new WeakMap(); // .message element -> Answer JSON
  var docCache = new Map(); // doc_id -> Promise<Document>
  var busy = false;
  var panelToken = 0; // guards against out-of-order document loads
  var lastTrigger = null; // element to refocus when the panel closes
  var chatLog = []; // the conversation as shown: {role: "user"|"answer"|"error", text|answer}, kept in localStorage
  var chatToken = 0; // a new chat drops replies to questions asked before it

  /* ---------- small DOM helpers ---------- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function isArray(x) {
    return Array.isArray(x);
  }

  /* ---------- offsets: Python code points -> JS UTF-16 indices ---------- */

  var ASTRAL = /[\uD800-\uDBFF][\uDC00-\uDFFF]/;

  // Returns [startUtf16, endUtf16] for code-point offsets [start, end) in text.
  function toUtf16Range(text, start, end) {
    if (!ASTRAL.test(text)) return [start, end];
    var cps = Array.from(text);
    var pos = 0;
    var s = null;
    var e = null;
    for (var i = 0; i <= cps.length; i++) {
      if (i === start) s = pos;
      if (i === end) { e = pos; break; }
      if (i < cps.length) pos += cps[i].length;
    }
    if (s === null) s = text.length;
    if (e === null) e = text.length;
    return [s, e];
  }

  function codePointLength(text) {
    return ASTRAL.test(text) ? Array.from(text).length : text.length;
  }

  /* ---------- network ---------- */

  function detailMessage(body, status) {
    var detail = body && body.detail;
    if (typeof detail === "string" && detail.trim()) return detail;
    if (isArray(detail) && detail.length) {
      var msgs = detail.map(function (d) {
        if (typeof d === "string") return d;
        if (d && typeof d.msg === "string") {
          var loc = isArray(d.loc) ? d.loc.filter(function (p) { return p !== "body"; }).join(".") : "";
          return loc ? loc + ": " + d.msg : d.msg;
        }
        return "";
      }).filter(Boolean);
      if (msgs.length) return msgs.join("; ");
    }
    if (detail && typeof detail === "object" && typeof detail.msg === "string") return detail.msg;
    if (status === 429) return "Too many requests. Wait a moment and try again.";
    if (status >= 500) return "The server had a problem answering (HTTP " + status + "). Try again in a moment.";
    return "The request failed (HTTP " + status + ").";
  }

  // Server messages are written for developers; people see them without setting names or commands.
  function forPeople(message, status) {
    var text = String(message || "").replace(/\s*\(CITEQA_[A-Z0-9_]+\)/g, "").replace(/^question: question /, "Your question ");
    if (/CITEQA_|`/.test(text)) {
      return status >= 500 ? "The service cannot answer right now. Try again in a moment."
        : "The service could not handle this request.";
    }
    if (/^Your question is \d+ characters long/.test(text)) text += ". Shorten it and send it again.";
    return text;
  }

  /* ---------- access key: asked for once when the server answers 401, kept for the session ---------- */

  var KEY_STORE = "citeqa.apiKey";

  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  // Resolves with the key the person typed, or null when they cancel.
  function askForKey(wrongKey) {
    var dialog = document.getElementById("key-dialog");
    var input = document.getElementById("key-input");
    var error = document.getElementById("key-error");
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(null);
    error.textContent = wrongKey ? "That key was not accepted. Check it and try again." : "";
    input.value = "";
    return new Promise(function (resolve) {
      var form = document.getElementById("key-form");
      var cancel = document.getElementById("key-cancel");
      function done(value) {
        form.removeEventListener("submit", onSubmit);
        cancel.removeEventListener("click", onCancel);
        dialog.removeEventListener("cancel", onCancel);
        if (dialog.open) dialog.close();
        resolve(value);
      }
      function onSubmit(ev) {
        ev.preventDefault();
        var key = input.value.trim();
        if (key) done(key);
      }
      function onCancel(ev) { if (ev) ev.preventDefault(); done(null); }
      form.addEventListener("submit", onSubmit);
      cancel.addEventListener("click", onCancel);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      input.focus();
    });
  }

  function fetchJSON(url, options, timeoutMs) {
    return fetchOnce(url, options, timeoutMs).catch(function (err) {
      if (err.status !== 401) throw err;
      return askForKey(Boolean(storedKey())).then(function (key) {
        if (!key) throw new Error("This service needs an access key; ask whoever runs it.");
        try { sessionStorage.setItem(KEY_STORE, key); } catch (e) { /* kept for this request only */ }
        return fetchJSON(url, options, timeoutMs);
      });
    });
  }

  function fetchOnce(url, options, timeoutMs) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = null;
    var headers = { Accept: "application/json" };
    if (storedKey()) headers.Authorization = "Bearer " + storedKey();
    var opts = Object.assign({}, options || {});
    opts.headers = Object.assign(headers, (options && options.headers) || {});
    if (controller) {
      opts.signal = controller.signal;
      if (timeoutMs) timer = setTimeout(function () { controller.abort(); }, timeoutMs);
    }
    return fetch(url, opts).then(
      function (res) {
        if (timer) clearTimeout(timer);
        return res.text().then(function (raw) {
          var body = null;
          try { body = raw ? JSON.parse(raw) : null; } catch (e) { body = null; }
          if (!res.ok) {
            var err = new Error(forPeople(detailMessage(body, res.status), res.status));
            err.status = res.status;
            throw err;
          }
          if (body === null || typeof body !== "object") {
            throw new Error("The server sent a response that is not valid JSON.");
          }
          return body;
        });
      },
      function (e) {
        if (timer) clearTimeout(timer);
        if (e && e.name === "AbortError") {
          throw new Error("The server took too long to answer. Try again, or ask a shorter question.");
        }
        throw new Error("Could not reach the server. Check your connection and try again.");
      }
    );
  }

  function getDocument(docId) {
    if (!docCache.has(docId)) {
      var p = fetchJSON(DOC_URL + encodeURIComponent(docId), { method: "GET" }, 30000);
      p.catch(function () { docCache.delete(docId); });
      docCache.set(docId, p);
    }
    return docCache.get(docId);
  }

  /* ---------- conversation ---------- */

  function hideEmptyHint() {
    var hint = document.getElementById("empty-hint");
    if (hint) hint.remove();
  }

  /* ---------- the chat kept across a reload ---------- */

  function remember(entry) {
    chatLog.push(entry);
    if (chatLog.length > KEPT_ENTRIES) chatLog = chatLog.slice(-KEPT_ENTRIES);
    saveChat();
  }

  function saveChat() {
    try {
      if (chatLog.length) localStorage.setItem(CHAT_STORE, JSON.stringify(chatLog));
      else localStorage.removeItem(CHAT_STORE);
    } catch (e) { /* storage full or turned off: the chat works, it is only not kept */ }
  }

  function restoreChat() {
    var kept = [];
    try { kept = JSON.parse(localStorage.getItem(CHAT_STORE) || "[]"); } catch (e) { kept = []; }
    if (!isArray(kept)) return;
    kept.forEach(function (entry) {
      if (!entry || typeof entry !== "object") return;
      if (entry.role === "user" && typeof entry.text === "string") addUserMessage(entry.text);
      else if (entry.role === "answer" && entry.answer && typeof entry.answer === "object") addAnswerMessage(entry.answer);
      else if (entry.role === "error" && typeof entry.text === "string") addErrorMessage(entry.text);
      else return;
      chatLog.push(entry);
    });
    if (chatLog.length) scrollToMessage(els.conversation.lastElementChild, false);
  }

  function newChat() {
    chatToken++;
    chatLog = [];
    saveChat();
    closePanel();
    hidePreview();
    clear(els.conversation);
    els.conversation.appendChild(els.emptyHint);
    els.question.value = "";
    els.question.focus();
  }

  function scrollToMessage(msg, alignTop) {
    var conv = els.conversation;
    if (alignTop) {
      var top = msg.offsetTop - 8;
      conv.scrollTop = Math.max(0, Math.min(top, conv.scrollHeight));
    } else {
      conv.scrollTop = conv.scrollHeight;
    }
  }

  function addUserMessage(text) {
    hideEmptyHint();
    var msg = el("div", "message user");
    msg.appendChild(el("span", "visually-hidden", "You asked: "));
    msg.appendChild(el("p", "message-text", text));
    els.conversation.appendChild(msg);
    scrollToMessage(msg, false);
    return msg;
  }

  function addErrorMessage(text) {
    var msg = el("div", "message assistant error");
    msg.setAttribute("role", "alert");
    msg.appendChild(el("p", "message-heading", "Something went wrong"));
    msg.appendChild(el("p", "message-text", text));
    els.conversation.appendChild(msg);
    scrollToMessage(msg, true);
    return msg;
  }

  function citationMap(answer) {
    var map = new Map();
    (answer.citations || []).forEach(function (c) {
      if (c && typeof c.n === "number") map.set(c.n, c);
    });
    return map;
  }

  function makeMarker(n, cmap) {
    var c = cmap.get(n);
    if (!c) {
      var missing = el("span", "cite-missing", "[" + n + "]");
      missing.title = "Citation " + n + " is not in this answer's source list";
      return missing;
    }
    var b = el("button", "cite-marker");
    b.appendChild(el("span", "cite-pill", "[" + n + "]"));
    b.type = "button";
    b.dataset.n = String(n);
    b.setAttribute("aria-label", "Show source " + n);
    b.title = (c.title || c.doc_id) + (c.publisher ? " — " + c.publisher : "");
    return b;
  }

  function renderSentences(answer, cmap) {
    var body = el("div", "answer-body");
    var sentences = isArray(answer.sentences) ? answer.sentences : [];
    if (!sentences.length) {
      if (answer.answer && !answer.abstained) body.appendChild(el("p", "answer-text", answer.answer));
      return body;
    }
    var p = el("p", "answer-text");
    sentences.forEach(function (s, i) {
      if (i > 0) p.appendChild(document.createTextNode(" "));
      var span = el("span", "sentence", s.text);
      p.appendChild(span);
      (s.citations || []).forEach(function (n) {
        p.appendChild(document.createTextNode("\u00a0"));
        p.appendChild(makeMarker(n, cmap));
      });
    });
    body.appendChild(p);
    return body;
  }

  // The asked-for fact ("roughly 2–4 hours") above the answer sentences, with the citation that holds it.
  function renderShortAnswer(answer, cmap) {
    var short = answer.short_answer;
    if (!short || typeof short.text !== "string" || !short.text) return null;
    var p = el("p", "short-answer");
    p.appendChild(el("span", "visually-hidden", "Short answer: "));
    p.appendChild(el("strong", "short-answer-text", short.text));
    if (typeof short.citation === "number") {
      p.appendChild(document.createTextNode("\u00a0"));
      p.appendChild(makeMarker(short.citation, cmap));
    }
    return p;
  }

  // How the question was read: "Reading 'baclofn' as 'baclofen'".
  function renderCorrections(answer) {
    var corrections = isArray(answer.corrections) ? answer.corrections : [];
    if (!corrections.length) return null;
    var text = corrections.map(function (c) {
      return "'" + c.original + "' as '" + c.corrected + "'";
    }).join("; ");
    return el("p", "corrections", "Reading " + text);
  }

  function renderConflicts(answer, cmap) {
    var conflicts = isArray(answer.conflicts) ? answer.conflicts : [];
    if (!conflicts.length) return null;
    var wrap = el("div", "conflicts");
    conflicts.forEach(function (cf) {
      var box = el("p", "conflict");
      box.appendChild(el("strong", "conflict-label", "Sources disagree on " + (cf.topic || "this point") + ": "));
      (cf.values || []).forEach(function (v, i) {
        if (i > 0) box.appendChild(document.createTextNode(" vs "));
        box.appendChild(el("span", "conflict-value", v.value));
        (v.citations || []).forEach(function (n) {
          box.appendChild(document.createTextNode("\u00a0"));
          box.appendChild(makeMarker(n, cmap));
        });
      });
      wrap.appendChild(box);
    });
    return wrap;
  }

  /* ---------- where a span is, in words ---------- */

  // "section “Pharmacokinetics”"; "" when the span is under the title or the document has no sections.
  function sectionText(heading, title) {
    var h = normalise(heading);
    return h && h !== normalise(title) ? "section \u201c" + h + "\u201d" : "";
  }

  // "From the article “Baclofen”, section “Pharmacokinetics”"
  function whereText(title, heading) {
    var section = sectionText(heading, title);
    return "From the article \u201c" + normalise(title) + "\u201d" + (section ? ", " + section : "");
  }

  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }

  // Corpus text without the source's own reference markers ("[8]"), so every [n] people see is citeqa's.
  function plainQuote(text) {
    return normalise(String(text || "").replace(/\[(?:\d+|[a-z ]+needed)\]/gi, ""));
  }

  // The citations grouped by document, in the order each document is first cited.
  function byDocument(citations) {
    var groups = [];
    var at = new Map();
    citations.forEach(function (c) {
      if (!at.has(c.doc_id)) {
        at.set(c.doc_id, groups.length);
        groups.push({ doc_id: c.doc_id, title: c.title || c.doc_id, publisher: c.publisher, citations: [] });
      }
      groups[at.get(c.doc_id)].citations.push(c);
    });
    return groups;
  }

  // One entry per document, its cited spans listed under it.
  function renderSourceList(answer) {
    var cites = isArray(answer.citations) ? answer.citations : [];
    if (!cites.length) return null;
    var wrap = el("div", "sources");
    wrap.appendChild(el("p", "sources-label", "Sources"));
    var list = el("ol", "source-list");
    byDocument(cites).forEach(function (group) {
      var li = el("li", "source-doc");
      li.dataset.docId = group.doc_id;
      var head = el("p", "source-doc-head");
      head.appendChild(el("span", "source-item-title", group.title));
      if (group.publisher) head.appendChild(el("span", "source-item-publisher", group.publisher));
      li.appendChild(head);
      var spans = el("ul", "source-spans");
      group.citations.forEach(function (c) {
        var item = el("li");
        var b = el("button", "source-link");
        b.type = "button";
        b.dataset.n = String(c.n);
        b.setAttribute("aria-label", "Show source " + c.n + " in " + group.title);
        b.appendChild(el("span", "source-n", "[" + c.n + "]"));
        var section = sectionText(c.heading, c.title);
        if (section) b.appendChild(el("span", "source-section", capitalise(section)));
        b.appendChild(el("span", "source-excerpt", "\u201c" + excerpt(plainQuote(c.quote), SPAN_EXCERPT_CHARS) + "\u201d"));
        item.appendChild(b);
        spans.appendChild(item);
      });
      li.appendChild(spans);
      list.appendChild(li);
    });
    wrap.appendChild(list);
    return wrap;
  }

  function excerpt(text, limit) {
    limit = limit || EXCERPT_CHARS;
    var t = String(text || "").replace(/\s+/g, " ").trim();
    if (t.length <= limit) return t;
    var cut = t.lastIndexOf(" ", limit);
    return t.slice(0, cut > limit * 0.6 ? cut : limit) + "…";
  }

  /* ---------- copy an answer with its sources ---------- */

  // The answer as plain text: the [n] markers, then each document and its quoted spans.
  function answerAsText(answer) {
    if (answer.abstained) {
      return "Not in the corpus: " + (answer.reason || "the documents in this corpus do not answer this question.");
    }
    var parts = [];
    var short = answer.short_answer;
    if (short && short.text) parts.push(short.text + " [" + short.citation + "]");
    var sentences = (isArray(answer.sentences) ? answer.sentences : []).map(function (s) {
      return s.text + " " + (s.citations || []).map(function (n) { return "[" + n + "]"; }).join("");
    });
    parts.push(sentences.length ? sentences.join(" ") : String(answer.answer || ""));
    var groups = byDocument(isArray(answer.citations) ? answer.citations : []);
    if (groups.length) {
      var lines = ["Sources:"];
      groups.forEach(function (g) {
        lines.push(g.title + (g.publisher ? " \u2014 " + g.publisher : ""));
        g.citations.forEach(function (c) {
          var section = sectionText(c.heading, c.title);
          lines.push("  [" + c.n + "] " + (section ? capitalise(section) + ": " : "") +
            "\u201c" + plainQuote(c.quote) + "\u201d");
        });
      });
      parts.push(lines.join("\n"));
    }
    return parts.join("\n\n");
  }

  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = el("textarea", "visually-hidden");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      area.remove();
      if (copied) resolve(); else reject(new Error("copy failed"));
    });
  }

  function copyAnswer(button, answer) {
    function show(label) {
      button.textContent = label;
      setTimeout(function () { button.textContent = COPY_LABEL; }, 2000);
    }
    writeClipboard(answerAsText(answer)).then(
      function () { show("Copied"); },
      function () { show("Could not copy"); }
    );
  }

  function renderActions() {
    var row = el("div", "message-actions");
    var copy = el("button", "copy-answer", COPY_LABEL);
    copy.type = "button";
    row.appendChild(copy);
    return row;
  }

  /* ---------- a preview of a citation on hover or focus ---------- */

  function showPreview(marker) {
    var msg = marker.closest(".message");
    var answer = msg && answers.get(msg);
    var c = answer && citationMap(answer).get(Number(marker.dataset.n));
    if (!c) return;
    var preview = els.preview;
    clear(preview);
    preview.appendChild(el("p", "cite-preview-where", whereText(c.title || c.doc_id, c.heading)));
    preview.appendChild(el("p", "cite-preview-quote", "\u201c" + excerpt(plainQuote(c.quote), PREVIEW_CHARS) + "\u201d"));
    preview.hidden = false;
    marker.setAttribute("aria-describedby", "cite-preview");
    var r = marker.getBoundingClientRect();
    var w = preview.offsetWidth;
    var h = preview.offsetHeight;
    var left = Math.max(8, Math.min(r.left + r.width / 2 - w / 2, window.innerWidth - w - 8));
    var top = r.bottom + 6;
    if (top + h > window.innerHeight - 8) top = Math.max(8, r.top - h - 6);
    preview.style.left = left + "px";
    preview.style.top = top + "px";
  }

  function hidePreview() {
    if (!els.preview || els.preview.hidden) return;
    els.preview.hidden = true;
    var described = document.querySelectorAll("[aria-describedby='cite-preview']");
    for (var i = 0; i < described.length; i++) described[i].removeAttribute("aria-describedby");
  }

  function onMarkerOver(ev) {
    var marker = ev.target instanceof Element && ev.target.closest("button.cite-marker");
    if (marker) showPreview(marker);
  }

  function onMarkerOut(ev) {
    var marker = ev.target instanceof Element && ev.target.closest("button.cite-marker");
    if (marker && !(ev.relatedTarget instanceof Node && marker.contains(ev.relatedTarget))) hidePreview();
  }

  function renderRelated(answer) {
    var related = isArray(answer.related) ? answer.related : [];
    if (!related.length) return null;
    var wrap = el("div", "related");
    var labelId = "related-label-" + Math.random().toString(36).slice(2, 9);
    var label = el("p", "related-label", "Related passages — not an answer");
    label.id = labelId;
    wrap.appendChild(label);
    var list = el("ul", "related-list");
    list.setAttribute("aria-labelledby", labelId);
    related.forEach(function (r, i) {
      var li = el("li");
      var b = el("button", "related-passage");
      b.type = "button";
      b.dataset.index = String(i);
      b.setAttribute("aria-label", "Show related passage " + (i + 1) + " in " + (r.title || r.doc_id));
      var head = el("span", "related-title", r.title || r.doc_id);
      b.appendChild(head);
      if (r.heading) b.appendChild(el("span", "related-heading", r.heading));
      b.appendChild(el("span", "related-excerpt", excerpt(r.text)));
      li.appendChild(b);
      list.appendChild(li);
    });
    wrap.appendChild(list);
    return wrap;
  }

  function renderRemoved(answer) {
    var removed = isArray(answer.removed) ? answer.removed : [];
    if (!removed.length) return null;
    var d = el("details", "removed");
    var n = removed.length;
    d.appendChild(el("summary", null, n + (n === 1 ? " item was" : " items were") + " removed by the citation check"));
    var list = el("ul", "removed-list");
    removed.forEach(function (r) {
      var li = el("li");
      var what = r.kind === "citation" && r.citation != null ? "Citation [" + r.citation + "]" : "Sentence";
      li.appendChild(el("span", "removed-kind", what + ": "));
      li.appendChild(el("q", "removed-text", r.text));
      if (r.reason) li.appendChild(el("span", "removed-reason", " — " + r.reason));
      list.appendChild(li);
    });
    d.appendChild(list);
    return d;
  }

  function addAnswerMessage(answer) {
    var cmap = citationMap(answer);
    var msg = el("div", "message assistant" + (answer.abstained ? " abstained" : ""));
    answers.set(msg, answer);

    var corrections = renderCorrections(answer);
    if (corrections) msg.appendChild(corrections);
    if (answer.abstained) {
      msg.appendChild(el("p", "message-heading", "Not in the corpus"));
      msg.appendChild(el("p", "abstain-reason",
        answer.reason || "The documents in this corpus do not answer this question."));
      if (isArray(answer.sentences) && answer.sentences.length) msg.appendChild(renderSentences(answer, cmap));
    } else {
      var short = renderShortAnswer(answer, cmap);
      if (short) msg.appendChild(short);
      msg.appendChild(renderSentences(answer, cmap));
    }

    var conflicts = renderConflicts(answer, cmap);
    if (conflicts) msg.appendChild(conflicts);
    var sources = renderSourceList(answer);
    if (sources) msg.appendChild(sources);
    var related = renderRelated(answer);
    if (related) msg.appendChild(related);
    var removed = renderRemoved(answer);
    if (removed) msg.appendChild(removed);
    msg.appendChild(renderActions());

    els.conversation.appendChild(msg);
    scrollToMessage(msg, true);
    return msg;
  }

  /* ---------- asking ---------- */

  function setBusy(on) {
    busy = on;
    els.busy.hidden = !on;
    els.send.disabled = on;
    els.conversation.setAttribute("aria-busy", on ? "true" : "false");
    document.body.classList.toggle("is-busy", on);
  }

  function ask(question) {
    setBusy(true);
    return fetchJSON(ASK_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ question: question })
    }, ASK_TIMEOUT_MS);
  }

  function submit() {
    if (busy) return;
    var raw = els.question.value;
    var question = raw.trim();
    if (!question) return;

    addUserMessage(question);
    remember({ role: "user", text: question });
    els.question.value = "";
    var token = chatToken;

    ask(question).then(
      function (answer) {
        if (token !== chatToken) return;
        addAnswerMessage(answer);
        remember({ role: "answer", answer: answer });
      },
      function (err) {
        if (token !== chatToken) return;
        var message = err && err.message ? err.message : "Something went wrong. Try again.";
        addErrorMessage(message);
        remember({ role: "error", text: message });
        // Give the question back so it can be resent or edited.
        if (!els.question.value) els.question.value = raw;
      }
    ).then(function () {
      setBusy(false);
      var active = document.activeElement;
      if (!active || active === document.body || active === els.send) els.question.focus();
    });
  }

  /* ---------- source panel ---------- */

  function panelIsOpen() {
    return !els.panel.hidden;
  }

  function openPanel() {
    els.panel.hidden = false;
    document.body.classList.add("panel-open");
  }

  function closePanel() {
    if (!panelIsOpen()) return;
    panelToken++;
    els.panel.hidden = true;
    document.body.classList.remove("panel-open");
    markActive(null);
    if (lastTrigger && document.contains(lastTrigger)) lastTrigger.focus();
    lastTrigger = null;
  }

  function markActive(button) {
    var prev = document.querySelectorAll(".is-active");
    for (var i = 0; i < prev.length; i++) prev[i].classList.remove("is-active");
    if (button) button.classList.add("is-active");
  }

  // span: {doc_id, title, publisher, start, end, quote, kicker, inner}; inner: a ShortAnswer inside the span, or null
  function showSpan(span, trigger) {
    var token = ++panelToken;
    lastTrigger = trigger || null;
    markActive(trigger);

    els.kicker.textContent = span.kicker;
    els.panel.classList.toggle("is-related", !!span.related);
    els.title.textContent = span.title || span.doc_id;
    els.publisher.textContent = span.publisher || "";
    els.range.textContent = whereText(span.title || span.doc_id, span.heading);
    showOriginal(null);
    clear(els.legend);
    els.legend.hidden = true;
    clear(els.text);
    els.text.appendChild(el("p", "source-loading", "Loading document…"));
    openPanel();
    els.title.focus({ preventScroll: true });

    getDocument(span.doc_id).then(
      function (doc) {
        if (token !== panelToken) return;
        if (doc.title) els.title.textContent = doc.title;
        els.publisher.textContent = doc.publisher || span.publisher || "";
        showOriginal(doc.url);
        renderDocument(doc, span);
      },
      function (err) {
        if (token !== panelToken) return;
        clear(els.text);
        els.text.appendChild(el("p", "source-error",
          "Could not load this document. " + (err && err.message ? err.message : "")));
        if (span.quote) {
          els.text.appendChild(el("p", "source-quote-label", "Cited text:"));
          els.text.appendChild(el("blockquote", "source-quote", span.quote));
        }
      }
    );
  }

  // A link to where the document is published, when its metadata names a web address.
  function showOriginal(url) {
    var usable = typeof url === "string" && /^https?:\/\//i.test(url);
    els.original.hidden = !usable;
    if (usable) els.original.href = url;
    else els.original.removeAttribute("href");
  }

  function renderDocument(doc, span) {
    var text = typeof doc.text === "string" ? doc.text : "";
    clear(els.text);
    var len = codePointLength(text);
    var start = span.start;
    var end = span.end;
    var valid = typeof start === "number" && typeof end === "number" &&
      start >= 0 && end >= start && end <= len;

    if (!valid) {
      els.text.appendChild(el("p", "source-warning",
        "The cited passage is not in this version of the document; showing the whole text."));
      els.text.appendChild(el("div", "source-body", text));
      els.text.scrollTop = 0;
      return;
    }

    var r = toUtf16Range(text, start, end);
    var cited = text.slice(r[0], r[1]);
    if (span.quote && normalise(cited) !== normalise(span.quote)) {
      els.text.appendChild(el("p", "source-warning",
        "The highlighted text differs from the quote the answer cites."));
    }

    var inner = innerRange(text, r, span.inner);
    if (inner) {
      els.legend.appendChild(document.createTextNode("Short answer "));
      els.legend.appendChild(el("mark", "short-answer-mark", span.inner.text));
      els.legend.appendChild(document.createTextNode(" is marked inside the quote."));
      els.legend.hidden = false;
    }

    var body = el("div", "source-body");
    body.appendChild(document.createTextNode(text.slice(0, r[0])));
    var mark = el("mark");
    mark.id = "highlight";
    if (inner) {
      mark.appendChild(document.createTextNode(text.slice(r[0], inner[0])));
      var innerMark = el("mark", "short-answer-mark", text.slice(inner[0], inner[1]));
      innerMark.id = "short-answer-highlight";
      mark.appendChild(innerMark);
      mark.appendChild(document.createTextNode(text.slice(inner[1], r[1])));
    } else {
      mark.textContent = cited;
    }
    body.appendChild(mark);
    body.appendChild(document.createTextNode(text.slice(r[1])));
    els.text.appendChild(body);

    // Wait a frame so layout (and the mobile sheet's animation start) is settled.
    requestAnimationFrame(function () {
      mark.scrollIntoView({ block: "center" });
    });
  }

  // The UTF-16 range of the short answer in text when it lies inside the highlighted range and is the document's
  // own text there; null otherwise (then only the quote is highlighted).
  function innerRange(text, outer, short) {
    if (!short || typeof short.start !== "number" || typeof short.end !== "number") return null;
    if (short.start < 0 || short.end <= short.start || short.end > codePointLength(text)) return null;
    var r = toUtf16Range(text, short.start, short.end);
    if (r[0] < outer[0] || r[1] > outer[1]) return null;
    return text.slice(r[0], r[1]) === short.text ? r : null;
  }

  function normalise(s) {
    return String(s || "").replace(/\s+/g, " ").trim();
  }

  /* ---------- events ---------- */

  function onConversationClick(ev) {
    var target = ev.target;
    if (!(target instanceof Element)) return;
    hidePreview();
    var example = target.closest("button.example-question");
    if (example) {
      if (busy) return;
      els.question.value = example.textContent;
      submit();
      return;
    }
    var button = target.closest("button.cite-marker, button.source-link, button.related-passage, button.copy-answer");
    if (!button) return;
    var msg = button.closest(".message");
    var answer = msg && answers.get(msg);
    if (!answer) return;
    if (button.classList.contains("copy-answer")) {
      copyAnswer(button, answer);
      return;
    }

    if (button.classList.contains("related-passage")) {
      var r = (answer.related || [])[Number(button.dataset.index)];
      if (!r) return;
      showSpan({
        doc_id: r.doc_id, title: r.title, publisher: null,
        start: r.start, end: r.end, quote: r.text, heading: r.heading,
        kicker: "Related passage — not an answer", related: true
      }, button);
      return;
    }

    var n = Number(button.dataset.n);
    var c = citationMap(answer).get(n);
    if (!c) return;
    var short = answer.short_answer;
    showSpan({
      doc_id: c.doc_id, title: c.title, publisher: c.publisher,
      start: c.start, end: c.end, quote: c.quote, heading: c.heading,
      kicker: "Source [" + n + "]", related: false,
      inner: short && short.citation === n && short.doc_id === c.doc_id ? short : null
    }, button);
  }

  function onQuestionKeydown(ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      submit();
    }
  }

  function onDocumentKeydown(ev) {
    if (ev.key === "Escape" || ev.key === "Esc") hidePreview();
    if ((ev.key === "Escape" || ev.key === "Esc") && panelIsOpen()) {
      ev.preventDefault();
      closePanel();
    }
  }

  function init() {
    els.conversation = document.getElementById("conversation");
    els.form = document.getElementById("ask-form");
    els.question = document.getElementById("question");
    els.send = document.getElementById("send");
    els.busy = document.getElementById("busy");
    els.panel = document.getElementById("source-panel");
    els.kicker = document.getElementById("source-kicker");
    els.title = document.getElementById("source-title");
    els.publisher = document.getElementById("source-publisher");
    els.range = document.getElementById("source-range");
    els.legend = document.getElementById("source-legend");
    els.text = document.getElementById("source-text");
    els.close = document.getElementById("source-close");
    els.original = document.getElementById("source-url");
    els.backdrop = document.getElementById("sheet-backdrop");
    els.preview = document.getElementById("cite-preview");
    els.emptyHint = document.getElementById("empty-hint");

    els.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submit();
    });
    els.question.addEventListener("keydown", onQuestionKeydown);
    els.conversation.addEventListener("click", onConversationClick);
    els.close.addEventListener("click", closePanel);
    els.backdrop.addEventListener("click", closePanel); // a tap outside the source sheet closes it
    document.getElementById("new-chat").addEventListener("click", newChat);
    els.conversation.addEventListener("mouseover", onMarkerOver);
    els.conversation.addEventListener("mouseout", onMarkerOut);
    els.conversation.addEventListener("focusin", onMarkerOver);
    els.conversation.addEventListener("focusout", onMarkerOut);
    els.conversation.addEventListener("scroll", hidePreview, { passive: true });
    document.addEventListener("keydown", onDocumentKeydown);
    document.body.classList.add("js");
    restoreChat();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
