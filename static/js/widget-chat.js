// The chat page inside the widget's iframe. The server renders every piece and
// HTMX swaps them in; this script adds what attributes cannot express:
// - the session: a third-party iframe cannot count on cookies, so the chat's
//   session token lives in localStorage (per widget key) and goes out as
//   `Authorization: Bearer …` on every request. Where the browser denies this
//   frame its storage too (third-party cookies blocked), the host page keeps a
//   copy in its own storage and hands it back when the chat opens again;
// - the handshake with the host page (`/widget.js`), which relays the website's
//   customer data by postMessage;
// - polling for messages nobody typed here, keyboard use, panels, and voice.
// Customer text only ever reaches the page as server-escaped HTML or textContent.
(function () {
  "use strict";

  var SOURCE = "followup-widget";
  var CUSTOMER_FIELDS = ["id", "name", "email", "phone", "signature", "token"];
  var MAX_FIELD_LENGTH = 500;
  var MAX_TOKEN_LENGTH = 4000; // a JWT carries the name, email and phone too
  var CUSTOMER_WAIT_MS = 1500; // a host page without our snippet never answers
  var POLL_MS = 5000;
  var REPLY_GIVE_UP_MS = 90000;
  var NEAR_BOTTOM_PX = 80;

  var widget = document.getElementById("widget");
  var chatsUrl = widget.dataset.chatsUrl;
  var storageKey = "followup-widget:" + widget.dataset.publicKey;
  var allowedOrigins = JSON.parse(widget.dataset.allowedOrigins || "[]");
  // What this script shows itself, in the visitor's language (the page renders them).
  var TEXTS = JSON.parse(widget.dataset.texts || "{}");
  var embedded = window.parent !== window;

  var session = null; // {chatId, token, customerId}
  var hostOrigin = null; // learnt from the handshake
  var hostSession = null; // the copy the host page kept
  var hostCustomer = null; // who the website says the visitor is
  var customerWait = null; // for a host page without our snippet
  var booted = false;
  var busy = false; // a message is on its way, or its reply is streaming
  var busyTimer = null;
  var polling = false;
  var wantsFocus = !embedded;
  var panelOpener = null;

  function byId(id) { return document.getElementById(id); }
  function chatEl() { return byId("chat"); }
  function log() { return byId("messages"); }
  function input() { return byId("message-input"); }

  // --- the session, kept across reloads ------------------------------------------------------

  function validSession(value) {
    return !!value && typeof value === "object" && /^\d{1,10}$/.test(String(value.chatId)) &&
      typeof value.token === "string" && value.token.length <= 500 &&
      (value.customerId === null || typeof value.customerId === "string");
  }
  function readSession() {
    var own = null;
    try { own = JSON.parse(window.localStorage.getItem(storageKey)); } catch (e) { /* denied */ }
    if (validSession(own)) return own;
    return validSession(hostSession) ? hostSession : null;
  }
  function writeSession(value) {
    try {
      if (value) window.localStorage.setItem(storageKey, JSON.stringify(value));
      else window.localStorage.removeItem(storageKey);
    } catch (e) { /* denied: the host page's copy serves */ }
    // Only to the host page's origin: the token opens the chat.
    if (hostOrigin) window.parent.postMessage({ source: SOURCE, type: "session", session: value }, hostOrigin);
  }
  function authHeaders() {
    return session ? { Authorization: "Bearer " + session.token } : {};
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (session) event.detail.headers.Authorization = "Bearer " + session.token;
    // The last message the page has: the answer puts anything newer that no poll has
    // brought yet (a staff reply a moment ago) before the customer's new message.
    if (isComposer(event)) event.detail.parameters.after = String(lastMessageId());
  });

  // --- start or restore the chat -------------------------------------------------------------

  // Whom the website says the visitor is: the id, or a token's `sub`. Only to tell one
  // visitor's chat from the next one's on this browser; the server checks the token.
  function customerIdOf(customer) {
    if (!customer) return null;
    if (customer.token) {
      try {
        var payload = customer.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
        var sub = JSON.parse(window.atob(payload)).sub;
        return typeof sub === "string" && sub ? sub : null;
      } catch (e) { return null; }
    }
    return customer.id || null;
  }

  function boot(customer) {
    if (booted) return;
    booted = true;
    var customerId = customerIdOf(customer);
    var stored = readSession();
    // Another customer signed in on the website (or signed out): a new chat, so
    // nobody sees the previous person's conversation on a shared computer.
    if (stored && stored.chatId && stored.token && (stored.customerId || null) === customerId) {
      session = stored;
      restore(customer, customerId);
    } else {
      start(customer, customerId);
    }
  }

  function restore(customer, customerId) {
    fetch(chatsUrl + "/" + encodeURIComponent(session.chatId), { headers: authHeaders() })
      .then(function (response) {
        if (response.status === 404) return start(customer, customerId); // gone or expired
        if (response.status === 403) { // the business now chats with signed-in visitors only
          session = null;
          writeSession(null);
          return response.text().then(showSignIn);
        }
        if (!response.ok) throw new Error("restore failed: " + response.status);
        return response.text().then(showChat);
      })
      .catch(function () { showProblem(customer); });
  }

  function start(customer, customerId) {
    session = null;
    writeSession(null);
    var body = new URLSearchParams();
    if (customer) body.set("customer", JSON.stringify(customer));
    // Where the chat started, as /widget.js passed it in this frame's address.
    var visit = new URLSearchParams(window.location.search);
    ["page_url", "referrer"].forEach(function (name) {
      if (visit.get(name)) body.set(name, visit.get(name));
    });
    if (navigator.language) body.set("language", navigator.language);
    // The language the page was served in (the host page's, the browser's or the
    // business's default): the chat, its emails and texts keep it.
    body.set("locale", document.documentElement.lang);
    return fetch(chatsUrl, { method: "POST", body: body })
      .then(function (response) {
        // The business chats only with visitors its website signed in: the server's
        // answer asks this one to sign in there. No chat, no session.
        if (response.status === 403) return response.text().then(showSignIn);
        if (!response.ok) throw new Error("start failed: " + response.status);
        session = {
          chatId: response.headers.get("X-Chat-Id"),
          token: response.headers.get("X-Session-Token"),
          customerId: customerId
        };
        writeSession(session);
        return response.text().then(showChat);
      })
      .catch(function () { showProblem(customer); });
  }

  function showChat(html) {
    var chat = chatEl();
    htmx.swap(chat, html, { swapStyle: "innerHTML", swapDelay: 0, settleDelay: 0 });
    chat.removeAttribute("aria-busy");
    setUpVoice();
    updateSendState();
    scrollToBottom();
    if (wantsFocus) focusComposer();
  }

  function showSignIn(html) {
    var chat = chatEl();
    htmx.swap(chat, html, { swapStyle: "innerHTML", swapDelay: 0, settleDelay: 0 });
    chat.removeAttribute("aria-busy");
    var link = chat.querySelector("[data-sign-in-required] a");
    if (link && wantsFocus) link.focus(); // the one thing to do here
  }

  function showProblem(customer) {
    var chat = chatEl();
    chat.removeAttribute("aria-busy");
    chat.textContent = "";
    var box = document.createElement("div");
    box.className = "chat-problem";
    box.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.textContent = TEXTS.connectProblem;
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "button button-primary";
    retry.textContent = TEXTS.tryAgain;
    retry.addEventListener("click", function () {
      booted = false;
      boot(customer);
    });
    box.appendChild(text);
    box.appendChild(retry);
    chat.appendChild(box);
  }

  // --- the handshake with the host page ------------------------------------------------------

  function fromHostPage(event) {
    return embedded && event.source === window.parent &&
      (event.origin === window.location.origin || allowedOrigins.indexOf(event.origin) !== -1);
  }

  // Only five short strings pass; anything else the host page sends is dropped.
  function cleanCustomer(value) {
    if (!value || typeof value !== "object" || Array.isArray(value)) return null;
    var customer = {};
    var any = false;
    CUSTOMER_FIELDS.forEach(function (field) {
      var item = value[field];
      if (typeof item === "number" && isFinite(item)) item = String(item);
      var limit = field === "token" ? MAX_TOKEN_LENGTH : MAX_FIELD_LENGTH;
      if (typeof item === "string" && item.length <= limit) {
        customer[field] = item;
        any = true;
      }
    });
    return any ? customer : null;
  }

  window.addEventListener("message", function (event) {
    if (!fromHostPage(event)) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.source !== SOURCE || typeof data.type !== "string") return;
    if (data.type === "customer") {
      hostOrigin = event.origin;
      hostSession = data.session;
      hostCustomer = cleanCustomer(data.customer);
      window.clearTimeout(customerWait); // our snippet: the chat starts when it first opens
    } else if (data.type === "open") {
      wantsFocus = true;
      boot(hostCustomer); // a hover that loaded the frame leaves no chat behind
      focusComposer();
    }
  });

  function tellHostPage(type) {
    // These messages carry no data, so any parent may hear them.
    if (embedded) window.parent.postMessage({ source: SOURCE, type: type }, "*");
  }

  // --- sending -------------------------------------------------------------------------------

  function canSend() {
    var field = input();
    return !busy && !!field && field.value.trim() !== "";
  }

  function updateSendState() {
    var send = byId("send-button");
    if (send) send.disabled = !canSend();
  }

  function setBusy(value) {
    busy = value;
    window.clearTimeout(busyTimer);
    // A reply that never arrives must not lock the composer for good.
    if (value) busyTimer = window.setTimeout(function () { setBusy(false); poll(); }, REPLY_GIVE_UP_MS);
    updateSendState();
  }

  function autoGrow(field) {
    field.style.height = "auto";
    field.style.height = Math.min(field.scrollHeight, 140) + "px";
  }

  function focusComposer() {
    var field = input();
    if (field) { field.focus({ preventScroll: true }); wantsFocus = false; }
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "message-input") {
      autoGrow(event.target);
      updateSendState();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id === "message-input" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault(); // Enter sends, Shift+Enter makes a new line
      if (canSend()) byId("composer").requestSubmit();
    }
    if (event.key === "Escape") {
      if (voice.on) stopVoice("");
      else if (panelIsOpen()) closePanel();
      else tellHostPage("close");
    }
  });

  function isComposer(event) {
    var elt = event.detail.requestConfig ? event.detail.requestConfig.elt : event.detail.elt;
    return elt && elt.id === "composer";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    byId("alerts").textContent = ""; // an old error no longer applies
    if (isComposer(event)) setBusy(true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isComposer(event)) return;
    if (event.detail.successful) {
      var field = input();
      field.value = "";
      autoGrow(field);
      byId("message-mode").value = "text";
      // Still busy: the reply streams in now.
    } else {
      setBusy(false);
      if (voice.on) stopVoice("");
    }
  });

  // --- the reply stream ----------------------------------------------------------------------

  document.addEventListener("htmx:sseError", function (event) {
    var source = event.detail.source;
    var bubble = event.detail.elt;
    if (!source || source.readyState !== EventSource.CLOSED || !bubble) return;
    // Refused (e.g. the link expired): stop retrying, and fetch whatever was saved.
    bubble.removeAttribute("sse-connect");
    bubble.remove();
    setBusy(false);
    poll();
  });

  // --- new content in the log ----------------------------------------------------------------

  function nearBottom() {
    var el = log();
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
  }
  function scrollToBottom() {
    var el = log();
    if (el) el.scrollTop = el.scrollHeight;
  }

  var stickToBottom = true;
  document.addEventListener("htmx:beforeSwap", function () { stickToBottom = nearBottom(); });
  document.addEventListener("htmx:afterSwap", function (event) {
    var el = log();
    if (el && el.contains(event.detail.target) && (stickToBottom || isComposer(event))) scrollToBottom();
  });
  // The agent's thank-you arrives out of band with a submitted form.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target === log()) scrollToBottom();
  });

  // A poll and a stream may both bring the same message: keep the first copy.
  function isSecondCopy(elt) {
    var copies = document.querySelectorAll('.msg[data-message-id="' + elt.dataset.messageId + '"]');
    return copies.length > 1 && copies[0] !== elt;
  }

  htmx.onLoad(function (elt) {
    if (!elt.matches || !elt.matches(".msg")) return;
    if (elt.dataset.reply) setBusy(false);
    if (elt.dataset.messageId && isSecondCopy(elt)) { elt.remove(); return; }
    if (elt.dataset.reply) {
      if (elt.querySelector(".followup-card")) elt.scrollIntoView({ block: "nearest" });
      if (voice.on) speak(elt);
    }
  });

  function lastMessageId() {
    var last = 0;
    log().querySelectorAll("[data-message-id]").forEach(function (item) {
      last = Math.max(last, Number(item.dataset.messageId) || 0);
    });
    return last;
  }

  // Messages nobody typed here (staff replies, reminders, "Logged in as …").
  function poll() {
    var el = log();
    if (!el || !session || busy || polling || document.visibilityState !== "visible") return;
    polling = true;
    fetch(el.dataset.pollUrl + "?after=" + lastMessageId(), { headers: authHeaders() })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (html.trim() && log()) {
          stickToBottom = nearBottom();
          htmx.swap(log(), html, { swapStyle: "beforeend", swapDelay: 0, settleDelay: 0 });
          if (stickToBottom) scrollToBottom();
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { polling = false; });
  }
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);

  // --- panels: Contact us, Log in, My requests -----------------------------------------------

  function panel() { return byId("panel"); }
  function panelIsOpen() { return panel() && !panel().hidden; }

  // An open panel covers the conversation: what it covers leaves the Tab order and the
  // screen reader's view until it closes.
  function coverConversation(covered) {
    ["messages", "composer"].forEach(function (id) {
      var el = byId(id);
      if (el) el.inert = covered;
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "panel") return;
    var opener = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (opener && !target.contains(opener)) panelOpener = opener;
    target.hidden = false;
    coverConversation(true);
    if (!target.querySelector("[data-autofocus]")) byId("panel-title").focus();
  });

  // A form names the field that wants the keyboard with data-autofocus: this frame is
  // on another site than the page around it, where Chromium refuses the autofocus
  // attribute (with a console error), while focus() is allowed.
  htmx.onLoad(function (elt) {
    var field = elt.matches && (elt.matches("[data-autofocus]") ? elt : elt.querySelector("[data-autofocus]"));
    if (field) field.focus();
  });

  function closePanel() {
    var el = panel();
    el.hidden = true;
    el.textContent = "";
    coverConversation(false);
    var back = panelOpener && document.body.contains(panelOpener) ? panelOpener : input();
    if (back) back.focus();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-panel]")) closePanel();
    if (event.target.closest("#close-widget")) tellHostPage("close");
    if (event.target.closest("#mic-button")) toggleVoice();
  });

  // --- keyboard: Tab stays in the open chat -------------------------------------------------

  // On the website the open chat is a dialog: Tab and Shift+Tab go round its controls
  // and never on to the page behind (Escape or "Close chat" leave it). The browser's own
  // order is kept; only a step past the last control (or before the first) wraps.
  var TABBABLE = "a[href], button, input, select, textarea, [tabindex]";

  function tabbables() {
    return Array.prototype.filter.call(document.querySelectorAll(TABBABLE), function (el) {
      return el.tabIndex >= 0 && !el.disabled && el.type !== "hidden" && !el.closest("[inert]") &&
        el.getClientRects().length > 0;
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!embedded || event.key !== "Tab" || event.defaultPrevented) return;
    var list = tabbables();
    var active = document.activeElement || document.body;
    var ahead = event.shiftKey ? Node.DOCUMENT_POSITION_PRECEDING : Node.DOCUMENT_POSITION_FOLLOWING;
    var more = list.some(function (el) { return el !== active && (active.compareDocumentPosition(el) & ahead); });
    if (more) return;
    event.preventDefault();
    var target = event.shiftKey ? list[list.length - 1] : list[0];
    if (target) target.focus();
  });

  // --- voice: speech in (recognition), speech out (synthesis) --------------------------------

  var MAX_RECORDING_MS = 60000; // the server takes about a minute (2 MB) at most

  // Where speech becomes text and text speech: the browser's own APIs, or our server (the
  // business's setting: "automatic" = the browser where it has them, else the server).
  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  var voiceMode = widget.dataset.voiceMode || "automatic";
  var voiceApi = widget.dataset.voiceApi;
  var serverVoice = voiceMode !== "browser" && widget.dataset.voiceServer === "true";
  var recognizesInBrowser = !!Recognition && voiceMode !== "server";
  var recordsForServer = !recognizesInBrowser && serverVoice && !!window.MediaRecorder &&
    !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  var speaksInBrowser = "speechSynthesis" in window && voiceMode !== "server";
  var speaksOnServer = !speaksInBrowser && serverVoice;
  var voice = {
    on: false, listening: false, recording: false, transcribing: false, speaking: false,
    recognition: null, recorder: null, sendRecording: false, audio: null, heard: "", error: null,
    toldNoSpeech: false, recordingTimer: null
  };

  function setUpVoice() {
    var mic = byId("mic-button");
    if (mic) mic.hidden = !(recognizesInBrowser || recordsForServer); // no way to hear: no mic
    showVoiceState("");
  }

  function toggleVoice() {
    if (voice.recording) { finishRecording(true); return; } // the second press sends it
    if (voice.on) { stopVoice(""); return; }
    voice.on = true;
    listen();
  }

  // The chat's language (the page's): speech is heard and read in it.
  function language() { return document.documentElement.lang || navigator.language || "en"; }

  function listen() {
    if (!voice.on || voice.listening || voice.recording || voice.transcribing || busy) return;
    if (recognizesInBrowser) recognize();
    else record();
  }

  function recognize() {
    var recognition = new Recognition();
    recognition.lang = language();
    recognition.interimResults = true;
    recognition.maxAlternatives = 1;
    recognition.onresult = function (event) {
      var text = "";
      for (var i = 0; i < event.results.length; i++) text += event.results[i][0].transcript;
      input().value = text;
      autoGrow(input());
      voice.heard = text;
    };
    recognition.onerror = function (event) { voice.error = event.error; };
    recognition.onend = function () {
      var heard = voice.heard.trim();
      var error = voice.error;
      voice.listening = false;
      voice.recognition = null;
      voice.heard = "";
      voice.error = null;
      if (heard && voice.on) {
        sendSpoken(heard);
        showVoiceState("");
      } else if (error && error !== "no-speech" && error !== "aborted") {
        stopVoice(voiceProblem(error));
      } else {
        stopVoice(""); // silence: stop rather than listen forever
      }
    };
    voice.recognition = recognition;
    voice.listening = true;
    try {
      recognition.start();
    } catch (e) {
      voice.listening = false;
      stopVoice(TEXTS.couldNotStart);
      return;
    }
    showVoiceState("");
  }

  function voiceProblem(error) {
    if (error === "not-allowed" || error === "service-not-allowed" || error === "NotAllowedError") return TEXTS.blocked;
    if (error === "audio-capture" || error === "NotFoundError") return TEXTS.noMicrophone;
    return TEXTS.stopped;
  }

  // No speech recognition here: record, and let our server turn the recording into text.
  function record() {
    voice.recording = true;
    showVoiceState("");
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      if (!voice.on || !voice.recording) { // stopped before the microphone was ready
        stopTracks(stream);
        if (voice.on) stopVoice("");
        return;
      }
      var chunks = [];
      var recorder = new MediaRecorder(stream); // the browser's own format: webm/opus, mp4, …
      recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
      recorder.onstop = function () {
        stopTracks(stream);
        voice.recorder = null;
        if (voice.sendRecording && voice.on) upload(new Blob(chunks, { type: recorder.mimeType || "audio/webm" }));
      };
      voice.recorder = recorder;
      recorder.start();
      voice.recordingTimer = window.setTimeout(function () { finishRecording(true); }, MAX_RECORDING_MS);
    }).catch(function (error) {
      voice.recording = false;
      stopVoice(voiceProblem(error && error.name));
    });
  }

  function stopTracks(stream) {
    stream.getTracks().forEach(function (track) { track.stop(); });
  }

  function finishRecording(send) {
    window.clearTimeout(voice.recordingTimer);
    var recorder = voice.recorder;
    voice.recording = false;
    if (recorder && recorder.state !== "inactive") {
      voice.sendRecording = send;
      voice.transcribing = send;
      recorder.stop();
    }
    showVoiceState("");
  }

  function upload(recording) {
    var form = new FormData();
    var extension = (recording.type.split("/")[1] || "webm").split(";")[0];
    form.append("audio", recording, "recording." + extension);
    fetch(voiceApi + "/" + encodeURIComponent(session.chatId) + "/transcriptions",
      { method: "POST", headers: authHeaders(), body: form })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          voice.transcribing = false;
          var heard = typeof answer.text === "string" ? answer.text.trim() : "";
          if (!response.ok) stopVoice(errorMessage(answer) || TEXTS.notSent);
          else if (!heard) stopVoice(TEXTS.notHeard);
          else if (voice.on) { sendSpoken(heard); showVoiceState(""); }
        });
      })
      .catch(function () {
        voice.transcribing = false;
        stopVoice(TEXTS.notSent);
      });
    showVoiceState("");
  }

  // The server's own words for what went wrong (they are written for visitors).
  function errorMessage(answer) {
    var error = answer && answer.error;
    if (!error) return "";
    var fields = error.fields || {};
    var first = Object.keys(fields)[0];
    return first ? String(fields[first]) : String(error.message || "");
  }

  function sendSpoken(text) {
    input().value = text;
    byId("message-mode").value = "voice";
    updateSendState();
    byId("composer").requestSubmit();
  }

  function textOf(bubble) {
    var text = bubble.querySelector(".bubble-text");
    return text ? text.textContent : "";
  }

  function speak(bubble) {
    var text = textOf(bubble);
    if (text && speaksInBrowser) speakInBrowser(text);
    else if (text && speaksOnServer && bubble.dataset.messageId) speakFromServer(bubble.dataset.messageId);
    else {
      if (text) tellNoSpokenReplies();
      listen();
    }
  }

  function speakInBrowser(text) {
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = language();
    utterance.onend = utterance.onerror = doneSpeaking;
    voice.speaking = true;
    showVoiceState("");
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(utterance);
  }

  // The reply read aloud by our server: fetched with the session's token (an <audio>
  // cannot send it), played from memory.
  function speakFromServer(messageId) {
    voice.speaking = true;
    showVoiceState("");
    var url = voiceApi + "/" + encodeURIComponent(session.chatId) + "/messages/" +
      encodeURIComponent(messageId) + "/speech";
    fetch(url, { headers: authHeaders() })
      .then(function (response) {
        if (!response.ok) throw new Error("no speech: " + response.status);
        return response.blob();
      })
      .then(play, function () {
        // Not available here (no speech model, an error): say so once, go on in text.
        speaksOnServer = false;
        tellNoSpokenReplies();
        doneSpeaking();
      });
  }

  function play(sound) {
    if (!voice.speaking) return; // stopped meanwhile
    var audio = document.createElement("audio");
    audio.src = URL.createObjectURL(sound);
    audio.onended = audio.onerror = doneSpeaking;
    voice.audio = audio;
    // Refused (no user gesture yet, say): the reply is on screen; the dialogue goes on.
    audio.play().catch(doneSpeaking);
  }

  function tellNoSpokenReplies() {
    if (voice.toldNoSpeech) return;
    voice.toldNoSpeech = true;
    var alerts = byId("alerts");
    var note = document.createElement("div");
    note.className = "alert voice-note";
    note.id = "voice-no-speech";
    var text = document.createElement("p");
    text.textContent = TEXTS.noSpokenReplies;
    note.appendChild(text);
    alerts.appendChild(note);
  }

  function endPlayback() {
    if (voice.audio) {
      voice.audio.onended = voice.audio.onerror = null;
      voice.audio.pause();
      URL.revokeObjectURL(voice.audio.src);
      voice.audio = null;
    }
  }

  function doneSpeaking() {
    if (!voice.speaking) return;
    endPlayback();
    voice.speaking = false;
    showVoiceState("");
    listen(); // the conversation goes on: the customer answers by voice
  }

  function stopVoice(note) {
    voice.on = false;
    if (voice.recognition) voice.recognition.abort();
    if (voice.recording || voice.recorder) finishRecording(false);
    if (voice.speaking && speaksInBrowser) window.speechSynthesis.cancel();
    endPlayback();
    voice.speaking = false;
    showVoiceState(note);
  }

  function showVoiceState(note) {
    var mic = byId("mic-button");
    var status = byId("voice-status");
    if (!mic || !status) return;
    mic.setAttribute("aria-pressed", voice.on ? "true" : "false");
    mic.classList.toggle("is-on", voice.on);
    mic.classList.toggle("is-listening", voice.listening || voice.recording);
    var text = note;
    if (voice.listening) text = TEXTS.listening;
    else if (voice.recording) text = TEXTS.recording;
    else if (voice.transcribing) text = TEXTS.transcribing;
    else if (voice.speaking) text = TEXTS.speaking;
    else if (voice.on && busy) text = TEXTS.waiting;
    status.textContent = text;
    status.classList.toggle("is-active", !!text);
  }

  // --- start ---------------------------------------------------------------------------------

  if (embedded) {
    byId("close-widget").hidden = false;
    tellHostPage("ready");
    customerWait = window.setTimeout(function () { boot(null); }, CUSTOMER_WAIT_MS);
  } else {
    boot(null);
  }
})();
