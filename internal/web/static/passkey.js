// Passkeys in the pages: the browser side of WebAuthn, first-party and
// external, so it runs under the pages' script-src 'self'. The server hands
// out options and takes credentials in the browser's JSON forms; this turns
// the one into the other with the browser's own PublicKeyCredential JSON
// methods where it has them, else with @simplewebauthn/browser, whose
// vendored file is loaded only then. Nothing here is needed for a page to
// work: passkey controls carry the hidden attribute and are shown only when
// this script runs in a browser that can make passkeys.
//
// Other pages reuse window.GatehousePasskey: register(options) and
// authenticate(options, {conditional, signal}) answer the credential's JSON,
// postJSON(url, body) posts same-origin and follows the answer's redirect
// (or its second step),
// and ceremony(begin, finish, extra) runs one of each through the server.
// Elements are wired by data attributes:
//   data-passkey-login="BEGIN FINISH"  a button: sign in (usernameless)
//   data-passkey-autofill="BEGIN FINISH"  an input with autocomplete
//       "username webauthn": passkeys offered in the browser's autofill
//   data-passkey-register="BEGIN FINISH"  a button: make a passkey (add
//       one to the account, or create an account with one)
//   data-passkey-offer="URL"  a notice shown once; URL records it was shown
//   data-passkey-dismiss  a button that hides its notice
//   data-passkey-only  shown only where passkeys work
//   data-passkey-not  hidden where passkeys work, until a
//       data-passkey-instead button of its scope shows it (and hides the
//       scope's data-passkey-first)
//   data-passkey-error  where a scope's errors go (its page's error area)
//   data-passkey-scope  the part of the page a control belongs to
//   data-passkey-field="KEY"  an input of a scope whose value its controls
//       post as KEY (its name when KEY is empty): the sign-up's email, the
//       second step's mfa_token
// A control's redirect_to comes from the hidden field of that name in its
// scope.
(function () {
  "use strict";

  var script = document.currentScript;
  var fallbackURL = script && script.getAttribute("data-fallback");
  // base: the path prefix the pages are under ("" at the root of the
  // host), for the one URL built here rather than read from the page.
  var base = (script && script.getAttribute("data-base")) || "";
  var PKC = window.PublicKeyCredential;

  // supported: the browser has WebAuthn at all.
  function supported() {
    return typeof PKC === "function" && !!navigator.credentials && typeof navigator.credentials.get === "function";
  }

  // nativeJSON: the browser turns JSON options into credentials and back
  // itself (WebAuthn Level 3).
  function nativeJSON() {
    return supported() && typeof PKC.parseCreationOptionsFromJSON === "function" &&
      typeof PKC.parseRequestOptionsFromJSON === "function" && typeof PKC.prototype.toJSON === "function";
  }

  var fallback = null;
  // library loads the vendored @simplewebauthn/browser once, on demand.
  function library() {
    if (window.SimpleWebAuthnBrowser) return Promise.resolve(window.SimpleWebAuthnBrowser);
    if (fallback) return fallback;
    fallback = new Promise(function (resolve, reject) {
      if (!fallbackURL) {
        reject(new Error("no fallback"));
        return;
      }
      var s = document.createElement("script");
      s.src = fallbackURL;
      s.onload = function () {
        if (window.SimpleWebAuthnBrowser) resolve(window.SimpleWebAuthnBrowser);
        else reject(new Error("fallback did not load"));
      };
      s.onerror = function () {
        fallback = null;
        reject(new Error("fallback did not load"));
      };
      document.head.appendChild(s);
    });
    return fallback;
  }

  // register answers the RegistrationResponseJSON of a new passkey made
  // from PublicKeyCredentialCreationOptionsJSON.
  function register(options) {
    if (nativeJSON()) {
      return navigator.credentials.create({ publicKey: PKC.parseCreationOptionsFromJSON(options) })
        .then(function (cred) { return cred.toJSON(); });
    }
    return library().then(function (lib) { return lib.startRegistration({ optionsJSON: options }); });
  }

  // authenticate answers the AuthenticationResponseJSON of a passkey picked
  // for PublicKeyCredentialRequestOptionsJSON; with conditional it is the
  // browser's autofill that offers the passkeys (mediation "conditional"),
  // and signal aborts the wait.
  function authenticate(options, opts) {
    opts = opts || {};
    if (nativeJSON()) {
      var req = { publicKey: PKC.parseRequestOptionsFromJSON(options) };
      if (opts.conditional) req.mediation = "conditional";
      if (opts.signal) req.signal = opts.signal;
      return navigator.credentials.get(req).then(function (cred) { return cred.toJSON(); });
    }
    return library().then(function (lib) {
      // The library aborts its own earlier ceremony when a new one starts.
      return lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: !!opts.conditional });
    });
  }

  // ServerError is a refusal the server explained.
  function ServerError(message, answer) {
    this.name = "ServerError";
    this.message = message;
    this.answer = answer;
  }
  ServerError.prototype = Object.create(Error.prototype);

  // secondStep shows the second-factor step of a sign-in that needs one:
  // the page the sign-in forms lead to, by a form post like theirs.
  function secondStep(token) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = base + "/login/mfa/step";
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "mfa_token";
    input.value = token;
    form.appendChild(input);
    document.body.appendChild(form);
    form.submit();
  }

  // postJSON posts body as JSON to a path of this site and answers the
  // JSON answer; an answer with a redirect sends the browser there. A
  // refusal rejects with the server's message.
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (answer) {
        if (!res.ok) {
          throw new ServerError(answer.error || "Something went wrong on our side. Please try again in a moment.", answer);
        }
        if (answer.redirect) window.location.assign(answer.redirect);
        else if (answer.mfa_token) secondStep(answer.mfa_token);
        return answer;
      });
    });
  }

  // ceremony runs one passkey ceremony through the server: options from
  // begin (posted with extra), the browser's credential, and the finish
  // post (with extra, the challenge_id and the credential), whose redirect
  // it follows. opts.register makes a passkey; else it signs in, with
  // opts.conditional and opts.signal as for authenticate.
  function ceremony(begin, finish, extra, opts) {
    opts = opts || {};
    return postJSON(begin, extra).then(function (c) {
      var made = opts.register ? register(c.publicKey) : authenticate(c.publicKey, opts);
      return made.then(function (credential) {
        var body = {};
        for (var k in extra) body[k] = extra[k];
        body.challenge_id = c.challenge_id;
        body.credential = credential;
        return postJSON(finish, body);
      });
    });
  }

  // explain says what went wrong in plain words; "" for nothing to say (a
  // ceremony this page aborted itself).
  function explain(err) {
    if (!err) return "";
    if (err instanceof ServerError) return err.message;
    // @simplewebauthn/browser wraps the browser's error as its cause.
    var name = (err.cause && err.cause.name) || err.name;
    switch (name) {
      case "AbortError":
        return "";
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out. Try again when you are ready.";
      case "InvalidStateError":
        return "This device already has a passkey for your account.";
      case "SecurityError":
        return "Passkeys are not allowed on this address.";
      case "NotSupportedError":
        return "This device cannot make a passkey that works here.";
      case "TypeError":
        if (!err.cause) return "We could not reach the server. Check your connection and try again.";
    }
    return "Something went wrong with the passkey. Try again, or sign in another way.";
  }

  // scopeOf is the part of the page el belongs to.
  function scopeOf(el) {
    return el.closest("[data-passkey-scope]") || document.getElementById("main") || document.body;
  }

  // showError puts message in the error area of el's scope ("" clears it),
  // and the focus there unless keepFocus (the person may be typing).
  function showError(el, message, keepFocus) {
    var area = scopeOf(el).querySelector("[data-passkey-error]");
    if (!area) return;
    area.textContent = message;
    area.hidden = !message;
    // Styled as the page's own error messages only while it shows one.
    area.classList.toggle("alert", !!message);
    area.classList.toggle("error", !!message);
    if (message && !keepFocus) {
      if (!area.hasAttribute("tabindex")) area.setAttribute("tabindex", "-1");
      area.focus();
    }
  }

  // extraOf is what a control posts besides the credential: the scope's
  // redirect_to, if any, and its data-passkey-field inputs.
  function extraOf(el) {
    var body = {};
    var scope = scopeOf(el);
    var target = scope.querySelector("input[name=redirect_to]");
    if (target && target.value) body.redirect_to = target.value;
    scope.querySelectorAll("[data-passkey-field]").forEach(function (input) {
      body[input.getAttribute("data-passkey-field") || input.name] = input.value.trim();
    });
    return body;
  }

  // routes reads a control's "BEGIN FINISH" attribute.
  function routes(el, attr) {
    var parts = (el.getAttribute(attr) || "").split(/\s+/);
    return { begin: parts[0], finish: parts[1] };
  }

  // The autofill request waiting, and its input; the inputs whose autofill
  // started, and how often it failed. (Kept here rather than in
  // attributes: the page's own markup is not the script's notebook.)
  var conditional = null, conditionalInput = null;
  var started = new WeakSet(), failures = new WeakMap();

  // stopAutofill ends the pending autofill request: a button's request or
  // a page change must not find the authenticator busy with it. wire
  // starts it again.
  function stopAutofill() {
    if (conditional) {
      conditional.abort();
      started.delete(conditionalInput);
      conditional = conditionalInput = null;
    }
  }

  // startAutofill offers passkeys in the autofill of input, when the
  // browser can (conditional mediation); picking one signs in at once.
  function startAutofill(input) {
    if (started.has(input) || !nativeJSON() && !fallbackURL) return;
    started.add(input);
    var available = PKC.isConditionalMediationAvailable ? PKC.isConditionalMediationAvailable() : Promise.resolve(false);
    available.then(function (yes) {
      if (!yes || !input.isConnected) return;
      stopAutofill();
      var ctl = new AbortController();
      conditional = ctl;
      conditionalInput = input;
      var r = routes(input, "data-passkey-autofill");
      document.documentElement.setAttribute("data-passkey-autofill-state", "waiting");
      ceremony(r.begin, r.finish, extraOf(input), { conditional: true, signal: ctl.signal }).then(function () {
        document.documentElement.setAttribute("data-passkey-autofill-state", "done");
      }, function (err) {
        if (conditional === ctl) conditional = conditionalInput = null;
        document.documentElement.setAttribute("data-passkey-autofill-state", "stopped");
        // Only the server's refusal is news: the browser's own errors of
        // a conditional request (nothing chosen, aborted) are not, and
        // there is no point in asking again after them.
        if (ctl.signal.aborted || !(err instanceof ServerError)) return;
        showError(input, explain(err), true);
        // Offer the passkeys again (a fresh challenge: a refused one is
        // used up) unless the page moved on, a few times: a server that
        // keeps failing is not asked in a loop.
        var tries = (failures.get(input) || 0) + 1;
        failures.set(input, tries);
        if (input.isConnected && tries < 3) {
          started.delete(input);
          startAutofill(input);
        }
      });
    }, function () {});
  }

  // run disables a button while its ceremony runs, so it is not pressed
  // twice; a failure is explained, and the autofill offered again.
  function run(button, work) {
    if (button.disabled) return;
    button.disabled = true;
    showError(button, "");
    work().catch(function (err) {
      showError(button, explain(err));
      wire(document);
    }).then(function () {
      button.disabled = false;
    });
  }

  // wire shows the passkey controls under root and starts the autofill.
  function wire(root) {
    var ok = supported();
    root.querySelectorAll("[data-passkey-only]").forEach(function (el) { el.hidden = !ok; });
    // One choice at a time: where the passkey comes first, what it
    // replaces waits until "Use a code instead".
    root.querySelectorAll("[data-passkey-not]").forEach(function (el) {
      el.hidden = ok && !el.hasAttribute("data-passkey-revealed");
    });
    if (!ok) return;
    root.querySelectorAll("[data-passkey-offer]").forEach(function (el) {
      if (!el.hidden || el.getAttribute("data-passkey-shown")) return;
      el.setAttribute("data-passkey-shown", "1");
      el.hidden = false;
      // Offered once: the server remembers it was shown.
      postJSON(el.getAttribute("data-passkey-offer"), {}).then(function () {
        el.setAttribute("data-passkey-offer-recorded", "1");
      }, function () {});
    });
    root.querySelectorAll("[data-passkey-autofill]").forEach(startAutofill);
  }

  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-passkey-login],[data-passkey-register],[data-passkey-dismiss],[data-passkey-instead]");
    if (!el) return;
    e.preventDefault();
    if (el.hasAttribute("data-passkey-instead")) {
      var scope = scopeOf(el);
      scope.querySelectorAll("[data-passkey-not]").forEach(function (n) {
        n.setAttribute("data-passkey-revealed", "1");
        n.hidden = false;
      });
      scope.querySelectorAll("[data-passkey-first]").forEach(function (n) { n.hidden = true; });
      var code = scope.querySelector("#code");
      if (code) code.focus();
      return;
    }
    if (el.hasAttribute("data-passkey-dismiss")) {
      var notice = el.closest("[data-passkey-offer]");
      if (notice) notice.hidden = true;
      return;
    }
    var reg = el.hasAttribute("data-passkey-register");
    var r = routes(el, reg ? "data-passkey-register" : "data-passkey-login");
    run(el, function () {
      stopAutofill();
      return ceremony(r.begin, r.finish, extraOf(el), { register: reg });
    });
  });

  // htmx swaps parts of pages: a swap ends the autofill of what it
  // replaces, and what it brings in is wired.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.shouldSwap) stopAutofill();
  });
  document.addEventListener("htmx:afterSettle", function () { wire(document); });

  window.GatehousePasskey = {
    supported: supported,
    register: register,
    authenticate: authenticate,
    postJSON: postJSON,
    ceremony: ceremony,
    explain: explain,
    showError: showError
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { wire(document); });
  } else {
    wire(document);
  }
})();
