// Two-factor authentication through the host app in a real browser (tests/tests/
// e2e_golden_path.rs starts the app on a fresh database in dev mode, so mail lands in
// /dev/mailbox):
//
// register -> confirm with the mailed code -> settings -> two-factor settings (sudo: confirm
// the password) -> set up: QR code and secret -> a wrong code is refused -> the code an
// authenticator app would show (computed here from the secret, lib/totp.mjs) turns it on: 8
// backup codes -> the dev mailbox has the "is on" mail -> log out -> log in: the MFA page (a
// wrong code is refused), the app's code for the next time step logs in -> log out -> log in
// with a backup code -> log out -> log in with another backup code and "Trust this browser"
// -> log out -> log in: straight in -> "Forget all trusted browsers" -> log out -> log in:
// the MFA page again; a used backup code is refused, an unused one logs in.
//
// Every step checks what the page says. axe-core (lib/axe.mjs) checks the login page, the MFA
// page (also with an error), and the two-factor settings page off, enrolling (also with an
// error), on with the backup codes shown, and on: a serious or critical violation fails the
// spec at the end (after the flow ran, so every page is reported at once), with the rule, the
// element and axe's explanation; a screenshot of each such page goes to the artifacts.
//
// The flow makes 14 rate-limited anonymous auth POSTs (register, confirm, sudo, 5 password
// logins, 6 codes on the MFA page), more than the shipped 10 a minute: the test starts the app
// with SIGRA_RATE_LIMIT_AUTH_MAX raised.
import { check, requireEnv, runSpec } from '../lib/browser.mjs';
import { axeVersion, blocking, checkPage, formatViolation } from '../lib/axe.mjs';
import {
  codeIn,
  expectFlash,
  expectHeading,
  expectNoFormErrors,
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

const baseUrl = requireEnv('BASE_URL');
const email = process.env.EMAIL || `two-factor-${Date.now()}@example.com`;
const password = 'cobalt umbrella marmot seventy';
const settingsPath = '/users/settings/two_factor';

const { step, steps } = stepper();

/** The path of the page's URL. */
const pathOf = (page) => new URL(page.url()).pathname;

/** Fills the password login form on /users/log_in and posts it. */
async function logIn(page) {
  await visit(page, baseUrl, '/users/log_in');
  await expectHeading(page, 'Log in');
  const form = page.locator('form[action="/users/log_in"]');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password', { exact: true }).fill(password);
  await navigates(page, () => form.getByRole('button', { name: 'Log in' }).click());
}

/** Logs in with the password and checks the login stopped at the MFA page. */
async function logInToMfaPage(page) {
  await logIn(page);
  check(pathOf(page) === '/users/mfa', `the password login went to ${page.url()}, not /users/mfa`);
  await expectMfaPage(page);
}

/** Checks the page is the second step of a login, with nobody logged in yet. */
async function expectMfaPage(page) {
  await expectHeading(page, 'Two-factor authentication');
  await expectText(page, 'Enter the 6-digit code from your authenticator app, or one of your backup codes.');
  check(
    (await page.getByLabel('Code', { exact: true }).count()) === 1,
    'the MFA page has a "Code" field',
  );
  check(
    (await page.getByLabel('Trust this browser for 30 days', { exact: false }).count()) === 1,
    'the MFA page offers "Trust this browser for 30 days"',
  );
  check(
    (await page.locator('header .current-user').count()) === 0,
    'nobody is logged in before the second factor',
  );
}

/** Types `code` into the MFA page (ticking "Trust this browser" if asked) and continues. */
async function enterMfaCode(page, code, { trust = false, status = 200 } = {}) {
  await page.getByLabel('Code', { exact: true }).fill(code);
  if (trust) await page.getByLabel('Trust this browser for 30 days', { exact: false }).check();
  await navigates(page, () => page.getByRole('button', { name: 'Continue' }).click(), { status });
}

/** Logs out with the header's "Log out" button. */
async function logOut(page) {
  const header = page.locator('header');
  await navigates(page, () => header.getByRole('button', { name: 'Log out' }).click());
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

/** Confirms the password on /users/sudo (the page must be showing). */
async function confirmPassword(page) {
  await expectHeading(page, 'Confirm your password');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await navigates(page, () => page.getByRole('button', { name: 'Continue' }).click());
  await expectFlash(page, 'Password confirmed.');
}

/** Opens the two-factor settings, confirming the password first if the app asks. */
async function openTwoFactorSettings(page) {
  await visit(page, baseUrl, settingsPath);
  if (pathOf(page) === '/users/sudo') await confirmPassword(page);
  check(pathOf(page) === settingsPath, `two-factor settings, at ${page.url()}`);
  await expectHeading(page, 'Two-factor authentication');
}

/** The text of the settings page's status heading (the section's <h2>). */
async function statusHeading(page) {
  return (await page.locator('main section h2').allInnerTexts()).map((t) => t.trim());
}

/** A 6-digit code the app would refuse now: none of the codes of the accepted steps. */
function wrongCode(secret) {
  const now = timeStep();
  const valid = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, now + d)));
  for (const candidate of ['000000', '111111', '222222', '123456']) {
    if (!valid.has(candidate)) return candidate;
  }
  throw new Error('no wrong code found');
}

await runSpec('two_factor', async ({ context, page, screenshot }) => {
  trackDocuments(page);
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

  await step('settings -> two-factor settings ask for the password first', async () => {
    await navigates(page, () => page.locator('header').getByRole('link', { name: 'Settings' }).click());
    await expectHeading(page, 'Account settings');
    await navigates(page, () =>
      page.getByRole('link', { name: 'Manage two-factor authentication' }).click(),
    );
    // A code confirmation is no password entry: no sudo mode yet.
    check(pathOf(page) === '/users/sudo', `not in sudo mode, so /users/sudo; at ${page.url()}`);
    await expectFlash(page, 'Confirm your password to continue.');
    await confirmPassword(page);
    check(pathOf(page) === settingsPath, `after sudo, back at ${settingsPath}; at ${page.url()}`);
    await expectHeading(page, 'Two-factor authentication');
    const h2 = await statusHeading(page);
    check(h2.includes('Two-factor authentication is off'), `the page says it is off: ${h2}`);
    await expectText(page, 'a stolen password is not enough');
    await axe('two-factor settings (off)');
  });

  let secret;
  await step('set up: the page shows a QR code and the secret', async () => {
    await navigates(page, () =>
      page.getByRole('button', { name: 'Set up two-factor authentication' }).click(),
    );
    check(pathOf(page) === settingsPath, `enrolling at ${settingsPath}; at ${page.url()}`);
    const h2 = await statusHeading(page);
    check(h2.includes('Set up your authenticator app'), `the enrolment section shows: ${h2}`);
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    check((await qr.count()) === 1, 'one QR code, named for screen readers');
    check((await qr.locator('svg').count()) === 1, 'the QR code is an inline SVG');
    const box = await qr.locator('svg').boundingBox();
    check(box && box.width >= 100 && box.height >= 100, `the QR code is visible and large enough: ${JSON.stringify(box)}`);
    secret = (await page.locator('#totp-secret').innerText()).trim();
    check(/^[A-Z2-7]{16,}=*$/.test(secret), `the secret is base32: ${JSON.stringify(secret)}`);
    // A reload shows the same pending secret.
    await navigates(page, () => page.reload());
    const again = (await page.locator('#totp-secret').innerText()).trim();
    check(again === secret, `a reload keeps the secret (${secret} then ${again})`);
    await axe('two-factor settings (enrolling, QR code)');
  });

  await step('a wrong code is refused and the page keeps the secret', async () => {
    await page.getByLabel('Code from the app').fill(wrongCode(secret));
    await navigates(
      page,
      () => page.getByRole('button', { name: 'Turn on two-factor authentication' }).click(),
      { status: 422 },
    );
    const error = await page.locator('#code-error').innerText();
    check(error.includes('The code is invalid'), `the field says why: ${error}`);
    check(
      (await page.getByLabel('Code from the app').getAttribute('aria-invalid')) === 'true',
      'the field is marked invalid',
    );
    const still = (await page.locator('#totp-secret').innerText()).trim();
    check(still === secret, `the same secret is shown (${still})`);
    await axe('two-factor settings (enrolling, wrong code)');
  });

  let backupCodes;
  let enrolStep;
  await step("turn it on with the app's code: 8 backup codes", async () => {
    enrolStep = timeStep();
    await page.getByLabel('Code from the app').fill(totp(secret, enrolStep));
    await navigates(page, () =>
      page.getByRole('button', { name: 'Turn on two-factor authentication' }).click(),
    );
    check(pathOf(page) === '/users/settings/two_factor/confirm', `the codes page, at ${page.url()}`);
    await expectFlash(page, 'Two-factor authentication is on.');
    await expectNoFormErrors(page);
    const h2 = await statusHeading(page);
    check(
      h2.includes('Your backup codes') && h2.includes('Two-factor authentication is on'),
      `the page shows the codes and the status: ${h2}`,
    );
    backupCodes = (await page.locator('#backup-codes li code').allInnerTexts()).map((c) => c.trim());
    check(backupCodes.length === 8, `8 backup codes, found ${backupCodes.length}: ${backupCodes}`);
    check(
      backupCodes.every((c) => /^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(c)),
      `backup codes look like XXXX-XXXX: ${backupCodes}`,
    );
    check(new Set(backupCodes).size === 8, `the backup codes differ: ${backupCodes}`);
    await expectText(page, 'They are shown only now');
    await expectText(page, 'You have 8 unused backup codes.');
    const download = page.getByRole('link', { name: 'Download the codes as a text file' });
    check((await download.getAttribute('download')) === 'backup-codes.txt', 'the link downloads backup-codes.txt');
    const href = await download.getAttribute('href');
    const prefix = 'data:text/plain;charset=utf-8,';
    check(href.startsWith(prefix), `the download is a text data: URL: ${href.slice(0, 40)}`);
    const text = decodeURIComponent(href.slice(prefix.length));
    const missing = backupCodes.filter((c) => !text.includes(c));
    check(missing.length === 0, `the text file lacks ${missing}:\n${text}`);
    await axe('two-factor settings (on, backup codes shown)');
  });

  await step('the dev mailbox has the "two-factor authentication is on" mail', async () => {
    const mail = await openNewestMail(page, baseUrl, email, 'mfa_enabled');
    mails.push({ kind: 'mfa_enabled', subject: mail.subject });
    check(
      /^Two-factor authentication is on for your .+ account$/.test(mail.subject),
      `mfa_enabled mail subject: ${mail.subject}`,
    );
    check(mail.text.includes('Two-factor authentication is now on'), `the mail says so:\n${mail.text}`);
    // The codes are never mailed.
    check(!backupCodes.some((c) => mail.text.includes(c)), 'no backup code in the mail');
    check(!mail.text.includes(secret), 'no secret in the mail');
  });

  await step('log out', () => logOut(page));

  await step('log in with the password: the MFA page', async () => {
    await visit(page, baseUrl, '/users/log_in');
    await axe('login page');
    await logInToMfaPage(page);
    // The half-done login opens nothing else.
    await visit(page, baseUrl, '/');
    await expectText(page, 'You are not logged in.');
    await visit(page, baseUrl, '/users/mfa');
    await expectMfaPage(page);
    await axe('MFA page');
  });

  await step('a wrong code is refused on the MFA page', async () => {
    await enterMfaCode(page, wrongCode(secret), { status: 422 });
    await expectMfaPage(page);
    const error = await page.locator('#code-error').innerText();
    check(error.includes('The code is invalid'), `the field says why: ${error}`);
    await axe('MFA page (wrong code)');
  });

  await step("the app's code for the next time step logs in", async () => {
    // The enrolment used its time step's code, and a code works once; the server accepts
    // one step either side, so the next step's code is good now.
    const next = Math.max(enrolStep + 1, timeStep());
    await enterMfaCode(page, totp(secret, next));
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
  });

  await step('log out', () => logOut(page));

  await step('log in with a backup code', async () => {
    await logInToMfaPage(page);
    await enterMfaCode(page, backupCodes[0]);
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
  });

  await step('log out', () => logOut(page));

  const trustCookie = async () =>
    (await context.cookies(baseUrl)).find((c) => c.name.endsWith('sigra_mfa_trust'));
  await step('log in with another backup code and "Trust this browser"', async () => {
    check(!(await trustCookie()), 'no trust cookie before ticking the box');
    await logInToMfaPage(page);
    await enterMfaCode(page, backupCodes[1], { trust: true });
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
    const cookie = await trustCookie();
    check(cookie, `a trust cookie is set: ${(await context.cookies(baseUrl)).map((c) => c.name)}`);
    check(cookie.httpOnly, 'the trust cookie is HttpOnly');
    const days = (cookie.expires * 1000 - Date.now()) / 86_400_000;
    check(days > 29 && days <= 30.01, `the trust cookie lasts 30 days, not ${days.toFixed(2)}`);
  });

  await step('log out', async () => {
    await logOut(page);
    check(await trustCookie(), 'logging out keeps the trust cookie');
  });

  await step('log in again: straight in, no MFA page', async () => {
    const before = page.__docStatuses.length;
    await logIn(page);
    await expectLoggedInHome(page);
    const visited = page.__docStatuses.slice(before).map((d) => new URL(d.url).pathname);
    check(!visited.includes('/users/mfa'), `no MFA page on a trusted browser: ${visited}`);
  });

  await step('two-factor settings: "Forget all trusted browsers"', async () => {
    await openTwoFactorSettings(page);
    const h2 = await statusHeading(page);
    check(h2.includes('Two-factor authentication is on'), `the page says it is on: ${h2}`);
    check(!h2.includes('Your backup codes'), `the codes are shown only once: ${h2}`);
    check((await page.locator('#backup-codes').count()) === 0, 'no backup codes on a later visit');
    await expectText(page, 'You have 6 unused backup codes.');
    for (const button of ['Make new backup codes', 'Turn off two-factor authentication']) {
      check((await page.getByRole('button', { name: button }).count()) === 1, `the page offers "${button}"`);
    }
    await axe('two-factor settings (on)');
    await navigates(page, () => page.getByRole('button', { name: 'Forget all trusted browsers' }).click());
    check(pathOf(page) === settingsPath, `back at ${settingsPath}; at ${page.url()}`);
    await expectFlash(page, 'Every browser will ask for a code at the next login.');
  });

  await step('log out', () => logOut(page));

  await step('log in: the MFA page again', async () => {
    await logInToMfaPage(page);
    const doc = lastDocument(page);
    check(doc && doc.method === 'GET' && new URL(doc.url).pathname === '/users/mfa', `at ${JSON.stringify(doc)}`);
  });

  await step('a used backup code is refused; an unused one logs in', async () => {
    await enterMfaCode(page, backupCodes[0], { status: 422 });
    const error = await page.locator('#code-error').innerText();
    check(error.includes('The code is invalid'), `a used backup code is refused: ${error}`);
    // Typed loosely, as people do: lower case, a space for the dash.
    await enterMfaCode(page, backupCodes[2].toLowerCase().replace('-', ' '));
    await expectFlash(page, 'You are logged in.');
    await expectLoggedInHome(page);
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
