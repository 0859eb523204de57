// Live admin pages (web/admin/live.py). The poller (#live-poll) asks the server about
// once a second whether anything changed; after a change it comes back with the new
// pending count and the newest request's id, and the server's `followups-changed`
// event refreshes the list and the badge. Here: the tab title, an open detail, the
// optional desktop notification, and the Export CSV link's filters. Its texts are the
// page's (`followupText`, static/js/app.js, which loads first).
(function () {
  "use strict";

  var COUNT_PREFIX = /^\(\d+\) /;
  var ALERTS_KEY = "followup.desktopAlerts";
  var lastNewestId = 0;

  function poller() { return document.getElementById("live-poll"); }

  function showCount(pending) {
    var title = document.title.replace(COUNT_PREFIX, "");
    document.title = pending > 0 ? "(" + pending + ") " + title : title;
  }

  // --- desktop notifications: off by default, asked for on a click, never on load ---

  function alertsSupported() { return "Notification" in window; }

  function alertsOn() {
    return alertsSupported() && Notification.permission === "granted"
      && window.localStorage.getItem(ALERTS_KEY) === "on";
  }

  function showAlertsButton() {
    var button = document.getElementById("desktop-alerts");
    if (!button || !alertsSupported()) return;
    var on = alertsOn();
    button.hidden = false;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = followupText(on ? "alertsOn" : "alertsOff");
  }

  function toggleAlerts() {
    if (alertsOn()) {
      window.localStorage.setItem(ALERTS_KEY, "off");
      showAlertsButton();
      return;
    }
    Notification.requestPermission().then(function (permission) {
      window.localStorage.setItem(ALERTS_KEY, permission === "granted" ? "on" : "off");
      showAlertsButton();
    });
  }

  function announceNewRequest(newestId, pending) {
    if (!alertsOn()) return;
    // Every open tab gets the news; the tag makes the browser show it once.
    var note = new Notification(followupText("newRequest"), {
      body: followupText("pending", pending),
      tag: "followup-request-" + newestId,
    });
    note.onclick = function () { window.focus(); note.close(); };
  }

  // --- after a change somewhere ---

  var knownVersion = null;

  function versionOf(element) {
    var input = element.querySelector("#live-version");
    return input ? input.value : "";
  }

  // The poller as it came back (or as the page was rendered: `first`).
  function read(element, first) {
    var pending = parseInt(element.dataset.pending, 10) || 0;
    var newestId = parseInt(element.dataset.newestId, 10) || 0;
    var version = versionOf(element);
    showCount(pending);
    if (!first && newestId > lastNewestId) announceNewRequest(newestId, pending);
    lastNewestId = newestId;
    // A version this tab made itself is no news: its answer showed the change already.
    if (!first && version !== knownVersion) refreshDetail();
    knownVersion = version;
  }

  // This tab changed something: the poll goes on from the version that made.
  function ownChange(event) {
    var element = poller();
    if (!element || !event.detail) return;
    knownVersion = String(event.detail.version);
    element.querySelector("#live-version").value = knownVersion;
    element.dataset.pending = event.detail.pending;
    showCount(event.detail.pending);
  }

  // The open request follows too, unless this person is editing something in it:
  // their typing is never thrown away (an edit of a note changed meanwhile is refused anyway).
  // Checked again when the refresh comes back: they may have started typing meanwhile,
  // or saved something whose answer is newer than the refresh (then it is dropped).
  var REFRESH_HEADER = "X-Followup-Refresh";
  var detailWrites = 0; // the detail's own requests (a save, a note), counted

  function detailIsIdle(panel) {
    var active = document.activeElement;
    if (active && panel.contains(active) && active.matches("input, textarea, select, button")) return false;
    if (panel.querySelector("[role=alert]")) return false; // a refusal stays until they act on it
    return !Array.prototype.some.call(panel.querySelectorAll("textarea, input"), function (field) {
      return field.type !== "hidden" && field.value !== field.defaultValue;
    });
  }

  function refreshDetail() {
    var panel = document.getElementById("detail-panel");
    var match = window.location.pathname.match(/^\/admin\/followups\/\d+$/);
    if (!panel || !match || !panel.querySelector(".followup-detail") || !window.htmx) return;
    if (!detailIsIdle(panel)) return;
    var headers = { "X-Followup-Poll": "1" };
    headers[REFRESH_HEADER] = String(detailWrites);
    htmx.ajax("GET", window.location.pathname + window.location.search, {
      target: "#detail-panel",
      swap: "innerHTML",
      headers: headers,
    });
  }

  function isDetailRefresh(detail) {
    var headers = detail.requestConfig && detail.requestConfig.headers;
    return Boolean(headers && headers[REFRESH_HEADER] !== undefined);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "detail-panel" && !isDetailRefresh(event.detail)) detailWrites += 1;
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isDetailRefresh(event.detail)) return;
    var sentAt = event.detail.requestConfig.headers[REFRESH_HEADER];
    if (sentAt !== String(detailWrites) || !detailIsIdle(event.detail.target)) {
      event.detail.shouldSwap = false;
    }
  });

  // --- Export CSV: the list's filters as they are now (htmx changes them in place) ---

  function exportWithFilters(event) {
    var link = event.target.closest("#export-button");
    var filters = document.getElementById("filters");
    if (!link || !filters) return;
    var params = new URLSearchParams();
    new FormData(filters).forEach(function (value, name) { if (value) params.append(name, value); });
    var query = params.toString();
    link.href = link.href.split("?")[0] + (query ? "?" + query : "");
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target.id === "live-poll") read(event.target, false);
  });
  document.addEventListener("live-version", ownChange);
  document.addEventListener("click", function (event) {
    if (event.target.closest("#desktop-alerts")) toggleAlerts();
    exportWithFilters(event);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var element = poller();
    if (element) read(element, true);
    showAlertsButton();
  });
})();
