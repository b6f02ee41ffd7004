// Passkeys through the host app in real headless Chromium with a virtual authenticator
// (tests/tests/e2e_golden_path.rs starts the app at http://localhost:<port>, a secure context
// over plain HTTP, with SIGRA_PASSKEY_RP_ID=localhost and SIGRA_PASSKEY_RP_ORIGIN set to that
// origin; dev mode, so mail lands in /dev/mailbox):
//
// register -> confirm with the mailed code -> passkey settings (sudo: confirm the password;
// "no passkeys yet") -> add a passkey "Work laptop": the list shows it (name, when added,
// "never" used) and the authenticator holds one discoverable (resident) credential for the
// account -> rename it "Phone" -> log out -> log in with the "Log in with a passkey" button
// -> log out -> log in through autofill on the email field (conditional mediation) -> turn
// on two-factor authentication (a code computed from the page's secret, lib/totp.mjs) -> log
// out -> log in with the password: the MFA page offers "Use a passkey" -> it logs in without
// a code -> passkey settings: the passkey was used; delete it: "no passkeys yet" -> log out
// -> the button now fails with the server's refusal (the authenticator still has the
// credential; the server no longer knows it).
//
// Conditional UI: Chromium answers a conditional request from a virtual authenticator as soon
// as the page makes it (no autofill list is shown, nothing to pick; see lib/webauthn.mjs), so
// "autofill" here is: the login page asks with `mediation: "conditional"` and no credential
// list, the authenticator answers, the page posts the assertion and lands logged in, with no
// click and no form post. The steps that must not log in that way (the button, the password
// login) turn the authenticator's presence simulation off while the login page is open: the
// conditional request then waits, as a real browser's autofill waits for the person, and the
// spec checks it is pending, that no error shows, and that the button aborts it (AbortError).
// Every navigator.credentials call is recorded (lib/webauthn.mjs) and the spec checks each
// page made the calls it should, with the options it should.
//
// axe-core (lib/axe.mjs) checks the passkey settings page without and with a passkey, the login
// page (with the passkey button, and showing the refusal) and the MFA page offering a passkey:
// a serious or critical violation fails the spec at the end, as in two_factor.mjs.
import { addVirtualAuthenticator, check, requireEnv, runSpec } from '../lib/browser.mjs';
import { axeVersion, blocking, checkPage, formatViolation } from '../lib/axe.mjs';
import {
  codeIn,
  expectFlash,
  expectHeading,
  expectText,
  lastDocument,
  navigates,
  openNewestMail,
  trackDocuments,
  urlFor,
  visit,
} from '../lib/host_app.mjs';
import { timeStep, totp } from '../lib/totp.mjs';
import { stepper } from '../lib/steps.mjs';
import { recordCredentialCalls, setPresence, waitForCall } from '../lib/webauthn.mjs';

const baseUrl = requireEnv('BASE_URL');
const email = process.env.EMAIL || `passkeys-${Date.now()}@example.com`;
const password = 'cobalt umbrella marmot seventy';
const passkeysPath = '/users/settings/passkeys';
const twoFactorPath = '/users/settings/two_factor';

const { step, steps } = stepper();

/** The path of the page's URL. */
const pathOf = (page) => new URL(page.url()).pathname;

/** Logs out with the header's "Log out" button. */
async function logOut(page) {
  await navigates(page, () => page.locator('header').getByRole('button', { name: 'Log out' }).click());
  await expectFlash(page, 'You are logged out.');
  await expectHeading(page, 'Welcome');
  await expectText(page, 'You are not logged in.');
}

/** Checks the page is the home page of a logged-in `email`. */
async function expectLoggedInHome(page) {
  check(pathOf(page) === '/', `expected the home page, at ${page.url()}`);
  await expectHeading(page, 'Welcome');
  await expectText(page, `You are logged in as ${email}.`);
  const shown = await page.locator('header .current-user').innerText();
  check(shown.trim() === email, `the header shows ${email}, not ${shown}`);
}

/** Checks nobody is logged in on the page (the header shows no account). */
async function expectNobodyLoggedIn(page) {
  check(
    (await page.locator('header .current-user').count()) === 0,
    `nobody is logged in, yet the header shows ${await page.locator('header').innerText()}`,
  );
}

/** Confirms the password on /users/sudo (the page must be showing). */
async function confirmPassword(page) {
  await expectHeading(page, 'Confirm your password');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await navigates(page, () => page.getByRole('button', { name: 'Continue' }).click());
  await expectFlash(page, 'Password confirmed.');
}

/** Opens `path`, confirming the password first if the app asks; returns whether it asked. */
async function openInSudo(page, path, heading) {
  await visit(page, baseUrl, path);
  const asked = pathOf(page) === '/users/sudo';
  if (asked) await confirmPassword(page);
  check(pathOf(page) === path, `${path}, at ${page.url()}`);
  await expectHeading(page, heading);
  return asked;
}

/** The rows of the passkey list: { name, added, lastUsed } each. */
async function passkeyRows(page) {
  return page.locator('table.passkeys tbody tr').evaluateAll((rows) =>
    rows.map((row) => {
      const [name, added, lastUsed] = [...row.querySelectorAll('td')].map((td) => td.innerText.trim());
      return { name, added, lastUsed };
    }),
  );
}

/** The passkey part of the login page (the button and its error line). */
const passkeyLogin = (page) => page.locator('[data-passkey-login]');

await runSpec('passkeys', async ({ page, screenshot }) => {
  trackDocuments(page);
  const calls = await recordCredentialCalls(page);
  const authenticator = await addVirtualAuthenticator(page);
  const requests = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') requests.push(new URL(request.url()).pathname);
  });

  const axePages = [];
  /** axe on the current page; remembers the result, with a screenshot when it would fail. */
  const axe = async (name) => {
    const result = await checkPage(page);
    check(result.passes >= 10, `axe ran on ${name}: only ${result.passes} rules passed`);
    const entry = { name, ...result };
    if (blocking(result.violations).length > 0) {
      entry.screenshot = await screenshot(`axe-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
    }
    axePages.push(entry);
  };
  const mails = [];
  const credentials = [];

  /**
   * Opens the login page with the authenticator's presence simulation off, so its autofill
   * request waits (as it does until a person picks a passkey); checks the page asked for
   * autofill and shows the passkey button and no error. Returns the pending autofill call.
   */
  const openLoginPageWithAutofillWaiting = async () => {
    await setPresence(authenticator, false);
    const before = calls.length;
    await visit(page, baseUrl, '/users/log_in');
    await expectHeading(page, 'Log in');
    const autofill = await waitForCall(
      page,
      calls,
      (c, i) => i >= before && c.method === 'get' && c.mediation === 'conditional',
      { what: 'the login page\'s autofill (conditional) request' },
    );
    check(
      autofill.allowCredentials === 0 || autofill.allowCredentials === null,
      `autofill asks for any passkey of this site, not a list: ${JSON.stringify(autofill)}`,
    );
    // Still waiting a moment later, and the page says nothing about it.
    await page.waitForTimeout(300);
    check(autofill.outcome === 'pending', `the autofill request waits for a pick: ${JSON.stringify(autofill)}`);
    check(await passkeyLogin(page).isVisible(), 'the login page shows the passkey part (the browser has WebAuthn)');
    check(
      !(await passkeyLogin(page).locator('[data-passkey-error]').isVisible()),
      `no passkey error on a fresh login page: ${await passkeyLogin(page).innerText()}`,
    );
    const autocomplete = await page
      .locator('form[action="/users/log_in"] input[name="email"]')
      .getAttribute('autocomplete');
    check(
      autocomplete === 'username webauthn',
      `the email field offers passkeys in its autofill list: autocomplete=${JSON.stringify(autocomplete)}`,
    );
    await expectNobodyLoggedIn(page);
    return autofill;
  };

  await step('register', async () => {
    await visit(page, baseUrl, '/users/register');
    await expectHeading(page, 'Create an account');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await navigates(page, () => page.getByRole('button', { name: 'Create account' }).click());
    check(page.url() === urlFor(baseUrl, '/users/confirm'), `registered, at ${page.url()}`);
    await expectHeading(page, 'Confirm your email address');
  });

  await step('confirm with the mailed code', async () => {
    const mail = await openNewestMail(page, baseUrl, email, 'confirm');
    mails.push({ kind: 'confirm', subject: mail.subject });
    await visit(page, baseUrl, '/users/confirm');
    const form = page.locator('form[action="/users/confirm"]');
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Code').fill(codeIn(mail.text));
    await navigates(page, () => form.getByRole('button', { name: 'Confirm' }).click());
    await expectFlash(page, 'Your email address is confirmed. Welcome!');
    await expectLoggedInHome(page);
  });

  await step('settings -> passkeys ask for the password first; no passkeys yet', async () => {
    await navigates(page, () => page.locator('header').getByRole('link', { name: 'Settings' }).click());
    await expectHeading(page, 'Account settings');
    await navigates(page, () => page.getByRole('link', { name: 'Manage passkeys' }).click());
    // A code confirmation is no password entry: no sudo mode yet.
    check(pathOf(page) === '/users/sudo', `not in sudo mode, so /users/sudo; at ${page.url()}`);
    await expectFlash(page, 'Confirm your password to continue.');
    await confirmPassword(page);
    check(pathOf(page) === passkeysPath, `after sudo, back at ${passkeysPath}; at ${page.url()}`);
    await expectHeading(page, 'Passkeys');
    await expectText(page, 'You have no passkeys yet.');
    const add = page.getByRole('button', { name: 'Add a passkey' });
    check(await add.isEnabled(), 'the script enabled "Add a passkey" (the browser has WebAuthn)');
    check(
      !(await page.locator('[data-passkey-unsupported]').isVisible()),
      'no "needs a browser with passkey support" note in a browser that has it',
    );
    check((await authenticator.credentials()).length === 0, 'the authenticator holds no credential yet');
    await axe('passkey settings (none)');
  });

  await step('add a passkey named "Work laptop"', async () => {
    const before = calls.length;
    await page.getByLabel('Name', { exact: true }).fill('Work laptop');
    await navigates(page, () => page.getByRole('button', { name: 'Add a passkey' }).click());
    check(pathOf(page) === passkeysPath, `back at ${passkeysPath}; at ${page.url()}`);
    await expectFlash(page, 'Passkey “Work laptop” added.');
    const create = calls.slice(before).find((c) => c.method === 'create');
    check(create && create.outcome === 'resolved', `the page ran navigator.credentials.create: ${JSON.stringify(calls.slice(before))}`);
    check(
      create.residentKey === 'preferred' && create.userVerification === 'required',
      `the page asked for a discoverable credential with user verification: ${JSON.stringify(create)}`,
    );
    const rows = await passkeyRows(page);
    check(rows.length === 1, `one passkey listed: ${JSON.stringify(rows)}`);
    check(rows[0].name === 'Work laptop', `it is named "Work laptop": ${JSON.stringify(rows[0])}`);
    const today = new Date().toISOString().slice(0, 10);
    check(
      new RegExp(`^${today} \\d{2}:\\d{2} UTC$`).test(rows[0].added),
      `it was added today (${today}): ${JSON.stringify(rows[0])}`,
    );
    check(rows[0].lastUsed === 'never', `it was never used: ${JSON.stringify(rows[0])}`);
    check(
      (await page.getByRole('button', { name: 'Delete Work laptop' }).count()) === 1,
      'its Delete button is named after it',
    );
    const held = await authenticator.credentials();
    credentials.push(...held);
    check(held.length === 1, `the authenticator holds one credential: ${held.length}`);
    const [credential] = held;
    check(credential.isResidentCredential, 'the credential is discoverable (a resident key)');
    check(credential.rpId === 'localhost', `bound to the relying party localhost: ${credential.rpId}`);
    check(credential.userName === email, `it names the account ${email}: ${credential.userName}`);
    await axe('passkey settings (one passkey)');
  });

  await step('rename it "Phone"', async () => {
    const field = page.getByLabel('New name for Work laptop', { exact: true });
    await field.fill('Phone');
    await navigates(page, () => page.getByRole('button', { name: 'Rename', exact: true }).click());
    check(pathOf(page) === passkeysPath, `back at ${passkeysPath}; at ${page.url()}`);
    await expectFlash(page, 'Passkey renamed.');
    const rows = await passkeyRows(page);
    check(rows.length === 1 && rows[0].name === 'Phone', `the list shows "Phone": ${JSON.stringify(rows)}`);
    check(
      (await page.getByRole('button', { name: 'Delete Phone' }).count()) === 1,
      'the Delete button follows the new name',
    );
  });

  await step('log out', () => logOut(page));

  await step('log in with the "Log in with a passkey" button', async () => {
    const autofill = await openLoginPageWithAutofillWaiting();
    await axe('login page (passkey button)');
    await setPresence(authenticator, true);
    const before = calls.length;
    const button = passkeyLogin(page).getByRole('button', { name: 'Log in with a passkey' });
    await navigates(page, () => button.click());
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
    check(autofill.outcome === 'AbortError', `the button cancelled the waiting autofill request: ${JSON.stringify(autofill)}`);
    const modal = calls.slice(before).filter((c) => c.method === 'get');
    check(
      modal.length === 1 && modal[0].mediation === null && modal[0].outcome === 'resolved',
      `the button ran one (modal) navigator.credentials.get: ${JSON.stringify(modal)}`,
    );
    check(requests.includes('/users/log_in/passkey'), `the page posted the passkey: ${requests}`);
  });

  await step('log out', () => logOut(page));

  await step('log in through autofill on the email field (conditional mediation)', async () => {
    // Presence on: Chromium hands the conditional request to the virtual authenticator at
    // once, which answers as a person picking the passkey from the field's autofill list.
    await setPresence(authenticator, true);
    const before = calls.length;
    const docsBefore = page.__docStatuses.length;
    const postsBefore = requests.length;
    // The page is on its way as soon as it loads: wait for its answer, not for a click.
    const answered = page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/users/log_in/passkey' && r.request().method() === 'POST',
    );
    await page.goto(urlFor(baseUrl, '/users/log_in'), { waitUntil: 'commit' });
    const response = await answered;
    check(response.status() === 200, `the passkey login answered ${response.status()}`);
    await page.waitForURL((url) => url.pathname === '/', { waitUntil: 'load' });
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
    const loginPage = page.__docStatuses
      .slice(docsBefore)
      .find((d) => new URL(d.url).pathname === '/users/log_in');
    check(loginPage && loginPage.status === 200, `the login page loaded first: ${JSON.stringify(page.__docStatuses.slice(docsBefore))}`);
    const made = calls.slice(before);
    check(
      made.length === 1 &&
        made[0].method === 'get' &&
        made[0].mediation === 'conditional' &&
        new URL(made[0].url).pathname === '/users/log_in' &&
        made[0].outcome === 'resolved',
      `the login page made one conditional navigator.credentials.get, which the authenticator answered: ${JSON.stringify(made)}`,
    );
    const posts = requests.slice(postsBefore);
    check(
      posts.includes('/users/log_in/passkey') && !posts.includes('/users/log_in'),
      `logged in by posting the passkey, not the password form: ${posts}`,
    );
  });

  let secret;
  await step("turn on two-factor authentication with the app's code", async () => {
    await openInSudo(page, twoFactorPath, 'Two-factor authentication');
    await navigates(page, () => page.getByRole('button', { name: 'Set up two-factor authentication' }).click());
    secret = (await page.locator('#totp-secret').innerText()).trim();
    check(/^[A-Z2-7]{16,}=*$/.test(secret), `the secret is base32: ${JSON.stringify(secret)}`);
    await page.getByLabel('Code from the app').fill(totp(secret, timeStep()));
    await navigates(page, () => page.getByRole('button', { name: 'Turn on two-factor authentication' }).click());
    await expectFlash(page, 'Two-factor authentication is on.');
    const h2 = (await page.locator('main section h2').allInnerTexts()).map((t) => t.trim());
    check(h2.includes('Two-factor authentication is on'), `the page says it is on: ${h2}`);
  });

  await step('log out', () => logOut(page));

  await step('log in with the password: the MFA page offers "Use a passkey"', async () => {
    await openLoginPageWithAutofillWaiting();
    const form = page.locator('form[action="/users/log_in"]');
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password', { exact: true }).fill(password);
    await navigates(page, () => form.getByRole('button', { name: 'Log in' }).click());
    check(pathOf(page) === '/users/mfa', `the password login went to ${page.url()}, not /users/mfa`);
    await expectHeading(page, 'Two-factor authentication');
    await expectText(page, 'Enter the 6-digit code from your authenticator app, or one of your backup codes.');
    await expectNobodyLoggedIn(page);
    const option = page.locator('[data-passkey-mfa]');
    check(await option.isVisible(), 'the MFA page shows its passkey part');
    check(
      (await option.getByRole('heading', { name: 'Or use a passkey' }).count()) === 1,
      `the passkey part is headed "Or use a passkey": ${await option.innerText()}`,
    );
    check(
      await option.getByRole('button', { name: 'Use a passkey' }).isVisible(),
      'the MFA page offers "Use a passkey"',
    );
    await axe('MFA page (with a passkey)');
  });

  await step('"Use a passkey" logs in without a code', async () => {
    await setPresence(authenticator, true);
    const before = calls.length;
    await navigates(page, () => page.getByRole('button', { name: 'Use a passkey' }).click());
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
    const made = calls.slice(before);
    check(
      made.length === 1 &&
        made[0].method === 'get' &&
        made[0].mediation === null &&
        made[0].allowCredentials === 1 &&
        new URL(made[0].url).pathname === '/users/mfa' &&
        made[0].outcome === 'resolved',
      `the MFA page asked for the account's one passkey: ${JSON.stringify(made)}`,
    );
    const mfaDoc = lastDocument(page);
    check(mfaDoc && new URL(mfaDoc.url).pathname === '/', `landed home: ${JSON.stringify(mfaDoc)}`);
  });

  await step('passkey settings: it was used; delete it: the list is empty', async () => {
    await openInSudo(page, passkeysPath, 'Passkeys');
    const rows = await passkeyRows(page);
    check(rows.length === 1 && rows[0].name === 'Phone', `one passkey, "Phone": ${JSON.stringify(rows)}`);
    check(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/.test(rows[0].lastUsed), `it shows when it was last used: ${JSON.stringify(rows[0])}`);
    await navigates(page, () => page.getByRole('button', { name: 'Delete Phone' }).click());
    check(pathOf(page) === passkeysPath, `back at ${passkeysPath}; at ${page.url()}`);
    await expectFlash(page, 'Passkey deleted.');
    await expectText(page, 'You have no passkeys yet.');
    check((await passkeyRows(page)).length === 0, 'no passkey listed');
    // The server forgot it; the authenticator (the person's device) still has it.
    check((await authenticator.credentials()).length === 1, 'the authenticator still holds the credential');
    await axe('passkey settings (none, after deleting)');
  });

  await step('log out', () => logOut(page));

  await step('the passkey button now fails: the server does not know the passkey', async () => {
    const autofill = await openLoginPageWithAutofillWaiting();
    await setPresence(authenticator, true);
    const before = calls.length;
    const postsBefore = requests.length;
    const refused = page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/users/log_in/passkey' && r.request().method() === 'POST',
    );
    await passkeyLogin(page).getByRole('button', { name: 'Log in with a passkey' }).click();
    const response = await refused;
    check(response.status() === 401, `the server refused the unknown passkey with 401, not ${response.status()}`);
    const body = await response.json();
    check(body.error && body.error.code === 'passkey_rejected', `the refusal's code: ${JSON.stringify(body)}`);
    const error = passkeyLogin(page).locator('[data-passkey-error]');
    await error.waitFor({ state: 'visible' });
    const message = (await error.innerText()).trim();
    check(message === 'The passkey could not be verified', `the page says why: ${JSON.stringify(message)}`);
    check((await error.getAttribute('role')) === 'alert', 'the message is announced (role="alert")');
    check(pathOf(page) === '/users/log_in', `still on the login page: ${page.url()}`);
    await expectNobodyLoggedIn(page);
    check(autofill.outcome === 'AbortError', `the button cancelled the waiting autofill: ${JSON.stringify(autofill)}`);
    const made = calls.slice(before);
    check(
      made.length === 1 && made[0].method === 'get' && made[0].outcome === 'resolved',
      `the authenticator answered (it still has the credential): ${JSON.stringify(made)}`,
    );
    check(requests.slice(postsBefore).includes('/users/log_in/passkey'), 'the page posted the passkey');
    await axe('login page (passkey refused)');
  });

  const finalShot = await screenshot('final');

  const failing = axePages.filter((p) => blocking(p.violations).length > 0);
  if (failing.length > 0) {
    const report = failing.map((p) => {
      const lines = blocking(p.violations).map(formatViolation).join('\n  ');
      return `${p.name} (${p.url}, screenshot ${p.screenshot}):\n  ${lines}`;
    });
    throw new Error(
      `axe-core ${axeVersion} found serious or critical violations on ${failing.length} of ${axePages.length} pages:\n${report.join('\n')}`,
    );
  }
  return {
    email,
    steps,
    mails,
    credentials: credentials.map((c) => ({
      isResidentCredential: c.isResidentCredential,
      rpId: c.rpId,
      userName: c.userName,
      signCount: c.signCount,
    })),
    calls: calls.map(({ method, mediation, allowCredentials, residentKey, outcome, url }) => ({
      method,
      mediation,
      allowCredentials,
      residentKey,
      outcome,
      path: new URL(url).pathname,
    })),
    axe: {
      version: axeVersion,
      pages: axePages.map((p) => ({
        name: p.name,
        url: p.url,
        violations: p.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          targets: v.nodes.map((n) => n.target),
        })),
        incomplete: p.incomplete,
      })),
    },
    totalMs: steps.reduce((sum, s) => sum + s.ms, 0),
    screenshot: finalShot,
  };
});
