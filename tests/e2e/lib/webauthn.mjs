// WebAuthn (passkeys) for specs: Chromium's virtual authenticator (lib/browser.mjs adds it
// through the DevTools protocol) and a record of every navigator.credentials call the pages
// make, so a spec can say which ceremony a page ran and how it ended.
//
// The virtual authenticator answers a ceremony at once while "automatic presence simulation"
// is on (as if the person touched the sensor). Chromium also answers a *conditional* request
// (autofill, `mediation: "conditional"`) at once then, without showing the autofill list:
// in the automation environment the page logs in as soon as it asks. With the simulation off,
// a request waits, as a real browser's autofill waits for the person to pick a passkey; a
// waiting request is not answered when the simulation is turned back on (the page has to ask
// again, e.g. with its button). setPresence() switches it.
//
// recordCredentialCalls() wraps navigator.credentials.get/create in every document of the
// page (an init script, which the page's CSP does not govern) without changing what they do:
// each call is passed through unchanged, and its options and outcome are reported to the spec
// through a binding, so the record survives navigations.

/**
 * Starts recording `page`'s navigator.credentials.get/create calls. Returns the live list:
 * { id, method, mediation, allowCredentials, residentKey, userVerification, url, outcome }
 * per call; `outcome` is "pending" until the call settles, then "resolved" or the
 * DOMException's name ("AbortError", "NotAllowedError", ...).
 */
export async function recordCredentialCalls(page) {
  const calls = [];
  await page.exposeBinding('__sigraWebauthnRecord', (source, event) => {
    if (event.type === 'call') {
      calls.push({ ...event.call, url: source.frame.url(), outcome: 'pending' });
    } else {
      const call = calls.find((c) => c.id === event.id);
      if (call) {
        call.outcome = event.outcome;
        if (event.message) call.message = event.message;
      }
    }
  });
  await page.addInitScript(() => {
    const credentials = navigator.credentials;
    if (!credentials || !window.PublicKeyCredential) return;
    const record = (event) => {
      try {
        window.__sigraWebauthnRecord(event);
      } catch (_) {
        /* the page is going away */
      }
    };
    const wrap = (method) => {
      const original = credentials[method].bind(credentials);
      credentials[method] = (options) => {
        const id = `${method}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        const publicKey = (options && options.publicKey) || {};
        const selection = publicKey.authenticatorSelection || {};
        record({
          type: 'call',
          call: {
            id,
            method,
            mediation: (options && options.mediation) || null,
            allowCredentials: Array.isArray(publicKey.allowCredentials)
              ? publicKey.allowCredentials.length
              : null,
            residentKey: selection.residentKey || null,
            requireResidentKey: selection.requireResidentKey ?? null,
            userVerification: publicKey.userVerification || selection.userVerification || null,
          },
        });
        return original(options).then(
          (credential) => {
            record({ type: 'settled', id, outcome: 'resolved' });
            return credential;
          },
          (error) => {
            record({
              type: 'settled',
              id,
              outcome: (error && error.name) || 'Error',
              message: error && error.message,
            });
            throw error;
          },
        );
      };
    };
    wrap('get');
    wrap('create');
  });
  return calls;
}

/**
 * Turns the virtual authenticator's automatic presence simulation on or off (see above):
 * `authenticator` is what lib/browser.mjs's addVirtualAuthenticator returned.
 */
export async function setPresence(authenticator, enabled) {
  await authenticator.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
    authenticatorId: authenticator.authenticatorId,
    enabled,
  });
}

/** Waits until `calls` (from recordCredentialCalls) holds a call matching `predicate`. */
export async function waitForCall(page, calls, predicate, { timeoutMs = 10_000, what = 'the call' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = calls.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `no navigator.credentials call for ${what} within ${timeoutMs} ms; calls so far: ${JSON.stringify(calls)}`,
      );
    }
    await page.waitForTimeout(50);
  }
}
