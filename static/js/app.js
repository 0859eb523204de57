// Admin page behaviour that HTMX attributes cannot express on their own.

// A text the scripts show, as the page wrote it for them, translated (`data-texts` on
// <body>, templates/base.html); `num` goes where it says "{num}".
window.followupText = function (key, num) {
  var texts = JSON.parse(document.body.dataset.texts || "{}");
  return String(texts[key] || "").replace("{num}", num);
};

(function () {
  "use strict";

  var narrow = window.matchMedia("(max-width: 900px)");

  function detailPanel() { return document.getElementById("detail-panel"); }
  function layout() { return document.querySelector(".followups-layout"); }

  function selectedId() {
    var article = document.querySelector("#detail-panel .followup-detail");
    return article ? article.dataset.followupId : null;
  }

  // Desktop: the detail sits in the right column. Phone: right below the
  // selected card, so the list never jumps away from what was tapped.
  function placeDetail() {
    var panel = detailPanel();
    if (!panel || !layout()) return;
    var id = selectedId();
    var card = null;
    document.querySelectorAll(".followup-card").forEach(function (item) {
      var isSelected = item.dataset.followupId === id;
      item.classList.toggle("is-selected", isSelected);
      if (isSelected) card = item;
    });
    // Moved only when it is not in place: this runs after every swap (the live poll's
    // too), and a move takes the keyboard away from someone typing in the detail.
    if (narrow.matches && card) {
      var slot = document.getElementById("inline-detail-slot") || document.createElement("li");
      slot.id = "inline-detail-slot";
      slot.className = "inline-detail-slot";
      keepingFocus(function () {
        if (card.nextElementSibling !== slot) card.after(slot);
        if (panel.parentElement !== slot) slot.appendChild(panel);
      });
    } else if (panel.parentElement !== layout()) {
      keepingFocus(function () { layout().appendChild(panel); });
    }
    panel.classList.toggle("is-empty", !id);
  }

  // Taking an element out of the document drops the focus inside it: give it back.
  function keepingFocus(move) {
    var active = document.activeElement;
    move();
    if (active && active !== document.activeElement && document.contains(active)) {
      active.focus({ preventScroll: true });
    }
  }

  // Never let a list refresh destroy the detail panel that lives inside it on phones.
  function rescueDetail(event) {
    var panel = detailPanel();
    if (panel && layout() && event.detail.target.contains(panel) && event.detail.target !== panel) {
      keepingFocus(function () { layout().appendChild(panel); });
    }
  }

  // A history restore (back/forward) swaps without a request: no trigger, no target.
  function focusDetailAfterSelect(event) {
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.classList.contains("card-link") && event.detail.target.id === "detail-panel") {
      var heading = document.getElementById("detail-name");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
        heading.scrollIntoView({ block: "nearest", behavior: "smooth" });
      }
    }
  }

  document.addEventListener("click", function (event) {
    var refresh = event.target.closest("[data-refresh-event]");
    if (refresh && window.htmx) {
      event.preventDefault();
      htmx.trigger(document.body, refresh.dataset.refreshEvent);
    }
    var close = event.target.closest("[data-close-target]");
    if (close) {
      event.preventDefault();
      document.querySelector(close.dataset.closeTarget).innerHTML = "";
      document.getElementById("settings-button").focus();
    }
  });

  document.addEventListener("htmx:beforeSwap", rescueDetail);
  document.addEventListener("htmx:afterSettle", function (event) {
    placeDetail();
    focusDetailAfterSelect(event);
  });
  narrow.addEventListener("change", placeDetail);
  document.addEventListener("DOMContentLoaded", placeDetail);
})();

// Follow-Ups page, the bulk bar: "Select all on this page" (mixed while some are),
// "N selected" and Clear, kept true as rows load or the list refreshes. Without the
// script the cards' own boxes still work, with the bar's plain "Selected:".
(function () {
  "use strict";

  function cardBoxes() { return document.querySelectorAll("#followup-list .card-select"); }

  function showSelection() {
    var all = document.getElementById("bulk-select-all");
    if (!all) return;
    var boxes = cardBoxes();
    var checked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    all.checked = boxes.length > 0 && checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
    all.disabled = boxes.length === 0;
    document.getElementById("bulk-count").textContent = followupText("selected", checked);
    document.getElementById("bulk-clear").disabled = checked === 0;
  }

  function selectAll(on) {
    cardBoxes().forEach(function (box) { box.checked = on; });
    showSelection();
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "bulk-select-all") selectAll(event.target.checked);
    else if (event.target.classList.contains("card-select")) showSelection();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("#bulk-clear")) return;
    selectAll(false);
    document.getElementById("bulk-select-all").focus(); // Clear is disabled now
  });
  document.addEventListener("htmx:afterSettle", showSelection);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".bulk-bar [data-needs-script]").forEach(function (element) {
      element.hidden = false;
    });
    showSelection();
  });
})();

// AI employees, Auto Follow-up and chats: when a swap took away the element that had
// the keyboard, put it where the server asked (`data-focus-id`: a moved step's button,
// a new step's title, the add button after a removal). htmx itself keeps the focus on
// an element whose id survives the swap; the user's own moves are never overridden.
// "Cancel" on an unsaved step card removes it.
(function () {
  "use strict";

  document.addEventListener("htmx:afterSettle", function () {
    var marker = document.querySelector("[data-focus-id]");
    if (!marker) return;
    var target = document.getElementById(marker.dataset.focusId);
    marker.removeAttribute("data-focus-id");
    var lost = !document.activeElement || document.activeElement === document.body;
    if (!target || !lost) return;
    if (!target.matches("a, button, input, select, textarea")) target.setAttribute("tabindex", "-1");
    target.focus();
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-remove-closest]");
    if (!cancel) return;
    var item = cancel.closest(cancel.dataset.removeClosest);
    if (item) item.remove();
    var add = document.getElementById("add-step");
    if (add) add.focus();
  });

  // A new step's card: its first field takes the keyboard when it appears. (A history
  // restore swaps without a request: no trigger, and no target either.)
  document.addEventListener("htmx:afterSwap", function (event) {
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!trigger || trigger.id !== "add-step") return;
    var card = event.detail.target.querySelector(".step-card.is-new:last-child");
    if (card) card.querySelector("input[name=delay_hours]").focus();
  });
})();

// Back and Forward may restore a page from the browser's back/forward cache exactly as
// it was left: a list without the employee just created. Load it again, in place.
window.addEventListener("pageshow", function (event) {
  if (event.persisted) window.location.replace(window.location.href.split("#")[0]);
});

// Customers page: after a customer or a transcript opens, mark the selected card and
// move focus to what opened, so keyboard and screen reader users (and phones) land on it.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;  // none for an out-of-band swap
    if (!target || target.id !== "user-detail-panel") return;
    var article = document.getElementById("user-detail");
    var selected = article ? article.dataset.customerId : null;
    document.querySelectorAll(".user-card").forEach(function (card) {
      card.classList.toggle("is-selected", card.dataset.customerId === selected);
    });
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    var focus = trigger && trigger.dataset.focusAfter && document.querySelector(trigger.dataset.focusAfter);
    if (focus) {
      focus.setAttribute("tabindex", "-1");
      focus.focus({ preventScroll: true });
      // Scroll to the whole chat or customer, so the title shows above the focused heading.
      (focus.closest(".user-chat, .user-detail") || focus).scrollIntoView({ block: "start" });
    }
  });
})();

// Settings page, copy buttons: the clipboard API where the page is a secure context,
// else select the text and let the browser copy it, so it can still be copied with Ctrl+C.
(function () {
  "use strict";
  function say(message) { document.getElementById("copy-status").textContent = message; }
  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function fallback(element, button) {
    select(element);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    done(button, followupText(copied ? "copied" : "selectToCopy"));
  }
  function done(button, label) {
    button.textContent = label;
    say(label);
    setTimeout(function () { button.textContent = followupText("copy"); }, 2000);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var element = document.querySelector(button.dataset.copyTarget);
    var text = element.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { done(button, followupText("copied")); },
        function () { fallback(element, button); }
      );
    } else {
      fallback(element, button);
    }
  });
})();

// A pane marked data-only-when-visible does not refresh in a hidden tab. (Not a trigger
// filter such as "every 5s [document.visibilityState === 'visible']": htmx evaluates
// those as code, which the Content-Security-Policy forbids.)
document.addEventListener("htmx:beforeRequest", function (event) {
  var hidden = document.visibilityState !== "visible";
  if (hidden && event.detail.elt.hasAttribute("data-only-when-visible")) event.preventDefault();
});
