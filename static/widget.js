/*! Followup chat widget. Paste on any page:
 *   <script src="https://YOUR-FOLLOWUP/widget.js" data-key="pk_…" async></script>
 * Optionally, before it (the signature or token is made on your server):
 *   window.FollowupWidget = {customer: {id, name, email, phone, signature}};
 *     signature = hex(HMAC-SHA256(widget_secret, id))
 *   or window.FollowupWidget = {customer: {token}};
 *     token = a JWT, HS256 with widget_secret: sub, name, email, phone, exp (<= 24 h)
 * Adds a launcher button and the chat in an iframe, once our server says this site
 * is one of the business's allowed origins. No dependencies; defines no globals;
 * reads window.FollowupWidget only.
 */
(function () {
  "use strict";

  var SOURCE = "followup-widget";
  var CUSTOMER_FIELDS = ["id", "name", "email", "phone", "signature", "token"];
  var Z = "2147483000";

  var script = document.currentScript ||
    document.querySelector('script[data-key][src*="/widget.js"]');
  var key = script && script.getAttribute("data-key");
  if (!key) {
    if (window.console) console.warn("Followup widget: the script tag needs data-key=\"<public key>\".");
    return;
  }
  if (document.querySelector("[data-followup-widget]")) return; // pasted twice

  var origin = new URL(script.src, window.location.href).origin;
  var chatUrl = origin + "/w/" + encodeURIComponent(key);
  var configUrl = origin + "/api/widget/v1/" + encodeURIComponent(key) + "/config";
  var storageKey = "followup-widget:" + key;

  var STYLE = [
    ":host { all: initial; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: " + Z + "; width: 60px; height: 60px;",
    "  border: 0; border-radius: 50%; background: #3451d1; color: #fff; cursor: pointer; padding: 0;",
    "  display: flex; align-items: center; justify-content: center;",
    "  box-shadow: 0 6px 20px rgba(20, 30, 70, .28); transition: transform .15s ease, background .15s ease; }",
    ".launcher:hover { transform: scale(1.05); background: #2b44b8; }",
    /* Dark ring on a white gap: seen on a light page and on a dark one. */
    ".launcher:focus-visible { outline: 3px solid #1d2433; outline-offset: 3px;",
    "  box-shadow: 0 0 0 3px #fff, 0 6px 20px rgba(20, 30, 70, .28); }",
    ".launcher svg { width: 28px; height: 28px; }",
    ".launcher .icon-close { display: none; }",
    ".launcher[aria-expanded=true] .icon-chat { display: none; }",
    ".launcher[aria-expanded=true] .icon-close { display: block; }",
    ".frame { position: fixed; right: 20px; bottom: 92px; z-index: " + Z + "; width: 380px;",
    "  height: min(640px, calc(100vh - 112px)); border-radius: 16px; overflow: hidden; background: #fff;",
    "  box-shadow: 0 12px 40px rgba(20, 30, 70, .25); opacity: 0; transform: translateY(12px);",
    "  transition: opacity .18s ease, transform .18s ease; }",
    ".frame[hidden] { display: none; }",
    ".frame.is-open { opacity: 1; transform: none; }",
    ".frame iframe { width: 100%; height: 100%; border: 0; display: block; }",
    "@media (max-width: 480px), (max-height: 560px) {",
    "  .frame { inset: 0; width: 100%; height: 100%; border-radius: 0; }",
    "  .launcher.is-covered { display: none; }", /* the chat has its own close button */
    "}",
    "@media (prefers-reduced-motion: reduce) { .launcher, .frame { transition: none; } }"
  ].join("\n");

  var CHAT_ICON = '<svg class="icon-chat" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3L4.5 21.5l4-2.1c1.1.3 2.3.5 3.5.5 5.5 0 10-3.9 10-8.7S17.5 3 12 3z"/></svg>';
  var CLOSE_ICON = '<svg class="icon-close" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" fill="none"/></svg>';

  var host = document.createElement("div");
  host.setAttribute("data-followup-widget", "");
  // A shadow root keeps the website's CSS off the launcher and ours off the website.
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = STYLE;
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-label", "Open chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "followup-chat");
  launcher.innerHTML = CHAT_ICON + CLOSE_ICON; // constant markup, no outside text
  var frameBox = document.createElement("div");
  frameBox.className = "frame";
  frameBox.id = "followup-chat";
  frameBox.hidden = true;
  // A dialog: the chat keeps the keyboard while it is open (widget-chat.js).
  frameBox.setAttribute("role", "dialog");
  frameBox.setAttribute("aria-modal", "true");
  frameBox.setAttribute("aria-label", "Chat with us");
  root.appendChild(style);
  root.appendChild(frameBox);
  root.appendChild(launcher);

  var iframe = null;
  var ready = false;
  var isOpen = false;

  function customerData() {
    var config = window.FollowupWidget;
    var value = config && typeof config === "object" ? config.customer : null;
    if (!value || typeof value !== "object") return null;
    var customer = {};
    CUSTOMER_FIELDS.forEach(function (field) {
      var item = value[field];
      if (typeof item === "string" || (typeof item === "number" && isFinite(item))) customer[field] = String(item);
    });
    return customer;
  }

  // The chat's session, kept here for browsers that deny the chat's iframe its own
  // storage (third-party storage blocked), so the conversation survives a reload.
  function storedSession() {
    try { return JSON.parse(window.localStorage.getItem(storageKey)); } catch (e) { return null; }
  }
  function keepSession(value) {
    try {
      if (value && typeof value === "object") window.localStorage.setItem(storageKey, JSON.stringify(value));
      else window.localStorage.removeItem(storageKey);
    } catch (e) { /* storage denied here too: the chat lasts as long as the page */ }
  }

  function tellChat(message) {
    // Only our own origin may read what we pass (the customer's details).
    if (iframe && iframe.contentWindow) iframe.contentWindow.postMessage(message, origin);
  }

  // Only an address's origin and path: its query or #fragment can carry a reset token
  // or an email, which would reach our logs and the staff (the server drops them too).
  function originAndPath(address) {
    try {
      var url = new URL(address);
      return /^https?:$/.test(url.protocol) ? url.origin + url.pathname : "";
    } catch (e) { return ""; }
  }

  // Where the chat starts, for the staff: the frame cannot read its host page's address.
  function visitQuery() {
    var params = new URLSearchParams();
    var page = originAndPath(window.location.href);
    var referrer = document.referrer && originAndPath(document.referrer);
    if (page) params.set("page_url", page);
    if (referrer) params.set("referrer", referrer);
    return "?" + params.toString();
  }

  function createFrame() {
    iframe = document.createElement("iframe");
    iframe.src = chatUrl + visitQuery();
    iframe.title = "Chat with us";
    iframe.setAttribute("allow", "microphone");
    frameBox.appendChild(iframe);
  }

  function setOpen(open) {
    isOpen = open;
    if (open && !iframe) createFrame();
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    frameBox.hidden = !open;
    launcher.classList.toggle("is-covered", open);
    if (open) {
      window.requestAnimationFrame(function () { frameBox.classList.add("is-open"); });
      iframe.focus();
      if (ready) tellChat({ source: SOURCE, type: "open" });
    } else {
      frameBox.classList.remove("is-open");
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(!isOpen); });

  window.addEventListener("message", function (event) {
    if (!iframe || event.source !== iframe.contentWindow || event.origin !== origin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.source !== SOURCE) return;
    if (data.type === "ready") {
      ready = true;
      tellChat({ source: SOURCE, type: "customer", customer: customerData(), session: storedSession() });
      if (isOpen) tellChat({ source: SOURCE, type: "open" });
    } else if (data.type === "session") {
      keepSession(data.session);
    } else if (data.type === "close" && isOpen) {
      setOpen(false);
    }
  });

  function mount() {
    if (document.querySelector("[data-followup-widget]")) return; // pasted twice
    document.body.appendChild(host);
  }
  function show() {
    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", mount);
  }

  // On a site that is not allowed the browser refuses to frame the chat: no button
  // then, and the site's developer learns why. The answer names this site only.
  function warn(text) { if (window.console) console.warn("Followup: " + text); }
  function showIfAllowed() {
    fetch(configUrl, { credentials: "omit" })
      .then(function (response) {
        if (response.status === 404) return { unknownKey: true };
        return response.ok ? response.json() : null;
      })
      // Unreachable or busy (429): show it all the same, the chat says what is wrong.
      .catch(function () { return null; })
      .then(function (config) {
        if (config && config.unknownKey) {
          warn("the widget key \"" + key + "\" is unknown. Copy the snippet again from Settings.");
        } else if (config && config.origin_allowed === false) {
          warn("this site (" + window.location.origin + ") is not an allowed origin for this widget. " +
            "Add it under Settings \u2192 Allowed website origins.");
        } else {
          show();
        }
      });
  }
  showIfAllowed();
})();
