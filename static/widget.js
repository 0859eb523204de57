/*! Followup chat widget: hand-kept, at most 3 KB gzipped. */
(function () {
  var W = window, D = document, SOURCE = "followup-widget";
  var script = D.currentScript || D.querySelector('script[data-key][src*="/widget.js"]');
  var key = script && script.getAttribute("data-key");
  var one = "[data-followup-widget]";
  function warn(text) { console.warn("Followup: " + text); }
  if (!key) return warn('the script tag needs data-key="<public key>".');
  if (D.querySelector(one)) return; // pasted twice

  var origin = new URL(script.src, location.href).origin;
  var base = origin + "/w/" + encodeURIComponent(key);
  var storageKey = SOURCE + ":" + key;
  var settings = Object(W.FollowupWidget);
  var svg = '<svg viewBox="0 0 24 24" aria-hidden="true" class="';
  var side = "right:20px;", UNKNOWN = {}, title;
  var locale = typeof settings.locale == "string" ? settings.locale : "";

  function make(tag) { return D.createElement(tag); }
  var host = make("div");
  host.setAttribute("data-followup-widget", "");
  var root = host.attachShadow({ mode: "open" });
  var launcher = make("button");
  var box = make("div");
  var iframe, ready, isOpen;
  attrs(launcher, { "aria-expanded": "false", "aria-controls": "followup-chat" });
  launcher.innerHTML = svg + 'chat"><path fill="currentColor" d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3L4.5 21.5l4-2.1c1.1.3 2.3.5 3.5.5 5.5 0 10-3.9 10-8.7S17.5 3 12 3z"/></svg>' +
    svg + 'close"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" fill="none"/></svg>';
  attrs(box, { id: "followup-chat", hidden: "", role: "dialog", "aria-modal": "true" });

  function attrs(element, values) { for (var name in values) element.setAttribute(name, values[name]); }

  function style() {
    var css = make("style");
    css.textContent = ":host{all:initial}" +
      "button,div{position:fixed;" + side + "z-index:2147483000}" +
      "button{bottom:20px;width:60px;height:60px;border:0;border-radius:50%;cursor:pointer;" +
      "background:var(--followup-accent,#3451d1);color:#fff;display:grid;place-items:center;" +
      "box-shadow:0 6px 20px #141e4647;transition:transform .15s}" +
      "button:hover{transform:scale(1.05);filter:brightness(.88)}" +
      "button:focus-visible{outline:3px solid #1d2433;outline-offset:3px;box-shadow:0 0 0 3px #fff}" +
      "svg{width:28px;height:28px}[aria-expanded=false] .close,[aria-expanded=true] .chat{display:none}" +
      "div{bottom:92px;width:380px;height:min(640px,calc(100vh - 112px));border-radius:16px;overflow:hidden;" +
      "background:#fff;box-shadow:0 12px 40px #141e4640;opacity:0;transform:translateY(12px);transition:opacity .18s,transform .18s}" +
      "[hidden]{display:none}.is-open{opacity:1;transform:none}iframe{width:100%;height:100%;border:0;display:block}" +
      "@media (max-width:480px),(max-height:560px){div{inset:0;width:100%;height:100%;border-radius:0}[aria-expanded=true]{display:none}}" +
      "@media (prefers-reduced-motion:reduce){*{transition:none}}";
    return css;
  }

  function customerData() {
    var value = Object(Object(W.FollowupWidget).customer), customer = {};
    ["id", "name", "email", "phone", "signature", "token"].forEach(function (field) {
      var item = value[field];
      if (typeof item == "string" || (typeof item == "number" && isFinite(item))) customer[field] = String(item);
    });
    return customer;
  }

  // The chat's session, for an iframe denied its storage.
  function session(value) {
    try {
      if (!arguments.length) return JSON.parse(localStorage.getItem(storageKey));
      if (value && typeof value == "object") localStorage.setItem(storageKey, JSON.stringify(value));
      else localStorage.removeItem(storageKey);
    } catch (e) { return null; }
  }

  // At ready and at each open: a page may sign its visitor in after load.
  function greet() {
    tellChat({ type: "customer", customer: customerData(), session: session() });
  }

  function tellChat(message) {
    message.source = SOURCE;
    iframe.contentWindow.postMessage(message, origin);
  }

  // No query or #fragment: they may carry tokens.
  function originAndPath(address) {
    var url = new URL(address);
    return /^https?:$/.test(url.protocol) ? url.origin + url.pathname : "";
  }

  function chatQuery() {
    var params = new URLSearchParams();
    var values = { page_url: originAndPath(location.href), referrer: D.referrer && originAndPath(D.referrer), locale: locale };
    for (var name in values) if (values[name]) params.set(name, values[name]);
    return "?" + params;
  }

  function makeFrame() {
    if (iframe) return;
    iframe = make("iframe");
    iframe.src = base + chatQuery();
    iframe.title = title;
    iframe.setAttribute("allow", "microphone");
    box.appendChild(iframe);
  }

  function setOpen(open) {
    isOpen = open;
    makeFrame();
    launcher.setAttribute("aria-expanded", "" + open);
    box.hidden = !open;
    if (open) {
      requestAnimationFrame(function () { box.classList.add("is-open"); });
      iframe.focus();
      if (ready) greet(), tellChat({ type: "open" });
    } else {
      box.classList.remove("is-open");
      launcher.focus();
    }
  }

  // The frame is made on intent, never at load.
  launcher.onpointerenter = launcher.onfocus = makeFrame;
  launcher.onclick = function () { setOpen(!isOpen); };

  W.addEventListener("message", function (event) {
    var data = event.data;
    if (!iframe || event.source != iframe.contentWindow || event.origin != origin) return;
    if ((data || 0).source != SOURCE) return;
    if (data.type == "ready") {
      ready = 1;
      greet();
      if (isOpen) tellChat({ type: "open" });
    } else if (data.type == "session") {
      session(data.session);
    } else if (data.type == "close" && isOpen) {
      setOpen(false);
    }
  });

  function applyLook(config) {
    var look = config.look || {}, labels = config.labels || {};
    title = labels.chat || "Chat with us";
    attrs(launcher, { "aria-label": labels.open || "Open chat" });
    attrs(box, { "aria-label": title });
    if (/^#[0-9a-f]{6}$/i.test(look.accent)) host.style.setProperty("--followup-accent", look.accent);
    if (look.position == "left") side = "left:20px;";
  }

  function mount() {
    if (D.querySelector(one)) return;
    root.append(style(), box, launcher);
    D.body.appendChild(host);
  }

  // No button where the chat may not be framed.
  fetch(origin + "/api/widget/v1/" + encodeURIComponent(key) + "/config?locale=" + encodeURIComponent(locale), { credentials: "omit" })
    .then(function (response) {
      return response.status == 404 ? UNKNOWN : response.ok && response.json();
    })
    .catch(function () {}) // unreachable or busy: the chat tells
    .then(function (config) {
      config = config || {};
      if (config == UNKNOWN) {
        warn('unknown key "' + key + '": copy the snippet again from Settings.');
      } else if (config.origin_allowed === false) {
        warn(location.origin + " is not allowed: add it under Settings \u2192 Allowed website origins.");
      } else {
        applyLook(config);
        if (D.body) mount();
        else D.addEventListener("DOMContentLoaded", mount);
      }
    });
})();
