// Passkeys for the account pages: adding one (settings), logging in with one (the button and
// autofill on the login page) and using one as the second factor (the MFA page). No build
// step and no inline script (the CSP allows same-origin files only). Each page marks what it
// needs with data attributes; the server holds the ceremony (single-use challenges) and
// decides; this file only converts between the JSON the server speaks and the ArrayBuffers
// navigator.credentials wants.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return; // No WebAuthn: the passkey parts stay hidden (or disabled) and the forms work as before.
  }

  function toBuffer(value) {
    var base64 = String(value).replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) return undefined;
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBuffers(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = toBuffer(c.id);
      return copy;
    });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      try { return PublicKeyCredential.parseCreationOptionsFromJSON(json); } catch (e) { /* fall back */ }
    }
    var o = Object.assign({}, json);
    o.challenge = toBuffer(json.challenge);
    o.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
    if (json.excludeCredentials) o.excludeCredentials = withBuffers(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      try { return PublicKeyCredential.parseRequestOptionsFromJSON(json); } catch (e) { /* fall back */ }
    }
    var o = Object.assign({}, json);
    o.challenge = toBuffer(json.challenge);
    if (json.allowCredentials) o.allowCredentials = withBuffers(json.allowCredentials);
    return o;
  }

  // The credential as the JSON webauthn-rs reads (what PublicKeyCredential.toJSON() gives).
  function credentialJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "accept": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var message = (data.error && data.error.message) || "Something went wrong. Please try again.";
          throw new Error(message.charAt(0).toUpperCase() + message.slice(1));
        }
        return data;
      });
    });
  }

  function showError(root, error) {
    var box = root.querySelector("[data-passkey-error]");
    if (!box) return;
    var message = error && error.message ? error.message : String(error);
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      message = "The passkey request was cancelled or timed out.";
    }
    box.textContent = message;
    box.hidden = false;
  }

  function clearError(root) {
    var box = root.querySelector("[data-passkey-error]");
    if (box) { box.hidden = true; box.textContent = ""; }
  }

  function go(data) {
    window.location.assign(data.redirect || "/");
  }

  // Settings: add a passkey.
  var register = document.querySelector("[data-passkey-register]");
  if (register) {
    var button = register.querySelector("[data-passkey-button]");
    var unsupported = register.querySelector("[data-passkey-unsupported]");
    if (unsupported) unsupported.hidden = true;
    button.disabled = false;
    register.addEventListener("submit", function (event) {
      event.preventDefault();
      clearError(register);
      var csrf = register.getAttribute("data-csrf");
      var nickname = register.querySelector("input[name=nickname]").value;
      button.disabled = true;
      post("/users/settings/passkeys/options", csrf).then(function (start) {
        return navigator.credentials.create({ publicKey: creationOptions(start.options.publicKey) })
          .then(function (credential) {
            return post("/users/settings/passkeys", csrf, {
              challenge_id: start.challenge_id,
              nickname: nickname,
              response: credentialJSON(credential)
            });
          });
      }).then(go).catch(function (error) {
        button.disabled = false;
        showError(register, error);
      });
    });
  }

  // Login page: the button, and autofill on the email field (conditional UI).
  var login = document.querySelector("[data-passkey-login]");
  if (login) {
    var csrf = login.getAttribute("data-csrf");
    var returnTo = login.getAttribute("data-return-to") || "";
    var rememberBox = document.getElementById("remember_me");
    var pendingAutofill = null;
    login.hidden = false;

    var finish = function (challengeId, credential) {
      return post("/users/log_in/passkey", csrf, {
        challenge_id: challengeId,
        response: credentialJSON(credential),
        remember_me: !!(rememberBox && rememberBox.checked),
        return_to: returnTo
      }).then(go);
    };

    login.querySelector("[data-passkey-button]").addEventListener("click", function () {
      clearError(login);
      if (pendingAutofill) { pendingAutofill.abort(); pendingAutofill = null; }
      post("/users/log_in/passkey/options", csrf).then(function (start) {
        return navigator.credentials.get({ publicKey: requestOptions(start.options.publicKey) })
          .then(function (credential) { return finish(start.challenge_id, credential); });
      }).catch(function (error) { showError(login, error); });
    });

    if (document.querySelector("[data-passkey-autofill]") && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        return post("/users/log_in/passkey/options", csrf).then(function (start) {
          var controller = new AbortController();
          pendingAutofill = controller;
          return navigator.credentials.get({
            mediation: "conditional",
            signal: controller.signal,
            publicKey: requestOptions(start.conditional_options.publicKey)
          }).then(function (credential) {
            pendingAutofill = null;
            return finish(start.challenge_id, credential);
          });
        });
      }).catch(function (error) {
        if (error && error.name === "AbortError") return; // The button took over.
        showError(login, error);
      });
    }
  }

  // MFA page: a passkey instead of a code.
  var mfa = document.querySelector("[data-passkey-mfa]");
  if (mfa) {
    mfa.hidden = false;
    var mfaCsrf = mfa.getAttribute("data-csrf");
    mfa.querySelector("[data-passkey-button]").addEventListener("click", function () {
      clearError(mfa);
      var trust = document.getElementById("trust_browser");
      post("/users/mfa/passkey/options", mfaCsrf).then(function (start) {
        return navigator.credentials.get({ publicKey: requestOptions(start.options.publicKey) })
          .then(function (credential) {
            return post("/users/mfa/passkey", mfaCsrf, {
              challenge_id: start.challenge_id,
              response: credentialJSON(credential),
              remember_me: mfa.hasAttribute("data-remember-me"),
              trust_browser: !!(trust && trust.checked),
              return_to: mfa.getAttribute("data-return-to") || ""
            });
          });
      }).then(go).catch(function (error) { showError(mfa, error); });
    });
  }
})();
