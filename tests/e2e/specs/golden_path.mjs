// The golden path through the host app in a real browser (tests/tests/e2e_golden_path.rs
// starts the app on a fresh database in dev mode, so mail lands in /dev/mailbox):
//
// register -> confirm with the mailed 6-digit code -> log out -> log in -> settings -> sudo ->
// change password -> a second device logs in -> the first revokes it on /users/sessions (the
// second's next page load is logged out) -> log out -> reset the password through the mailed
// link -> log in with it -> log out -> log in with a mailed magic link (confirm button). Before
// the last step the dev mailbox must list every mail as sent by the app's job worker.
//
// Every step checks what the page says (heading, flash message, text). The result lists the
// steps with their durations, the mails read, and the final screenshot.
//
// The app runs with its shipped defaults, which allow 10 anonymous auth POSTs a minute per IP
// (all from 127.0.0.1 here). This path makes exactly 10: register, confirm, 3 password logins,
// sudo, reset request, reset, magic link request, magic link login. Another such POST in a
// run under a minute answers 429 (the step's error then says so).
import { check, newPage, requireEnv, runSpec } from '../lib/browser.mjs';
import {
  codeIn,
  countMail,
  expectFlash,
  expectHeading,
  expectNoFormErrors,
  expectText,
  linkIn,
  listMail,
  navigates,
  openNewestMail,
  trackDocuments,
  urlFor,
  visit,
} from '../lib/host_app.mjs';
import { stepper } from '../lib/steps.mjs';

const baseUrl = requireEnv('BASE_URL');
const email = process.env.EMAIL || `golden-${Date.now()}@example.com`;
const firstPassword = 'plum tractor nebula sixteen';
const changedPassword = 'violet harbour quantum pickle';
const resetPassword = 'granite lantern osprey waltz';
// The second device: a phone, so the sessions page can tell the two apart.
const phoneUserAgent =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

const { step, steps } = stepper();

/** Fills the password login form on /users/log_in and posts it. */
async function logIn(page, password) {
  await visit(page, baseUrl, '/users/log_in');
  await expectHeading(page, 'Log in');
  const form = page.locator('form[action="/users/log_in"]');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password', { exact: true }).fill(password);
  await navigates(page, () => form.getByRole('button', { name: 'Log in' }).click());
}

/** Logs out with the header's "Log out" button. */
async function logOut(page) {
  const header = page.locator('header');
  await navigates(page, () => header.getByRole('button', { name: 'Log out' }).click());
  await expectFlash(page, 'You are logged out.');
  await expectHeading(page, 'Welcome');
  await expectText(page, 'You are not logged in.');
  check(
    (await header.getByRole('link', { name: 'Log in' }).count()) === 1,
    'the header offers "Log in" after logging out',
  );
}

/** Checks the page is the home page of a logged-in `email`. */
async function expectLoggedInHome(page) {
  await expectHeading(page, 'Welcome');
  await expectText(page, `You are logged in as ${email}.`);
  const shown = await page.locator('header .current-user').innerText();
  check(shown.trim() === email, `the header shows ${email}, not ${shown}`);
}

await runSpec('golden_path', async ({ browser, page, screenshot }) => {
  trackDocuments(page);
  const mails = [];
  const remember = (kind, mail) => mails.push({ kind, subject: mail.subject });

  await step('register', async () => {
    await visit(page, baseUrl, '/');
    await expectHeading(page, 'Welcome');
    await navigates(page, () =>
      page.locator('header').getByRole('link', { name: 'Register' }).click(),
    );
    await expectHeading(page, 'Create an account');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(firstPassword);
    await navigates(page, () => page.getByRole('button', { name: 'Create account' }).click());
    check(page.url() === urlFor(baseUrl, '/users/confirm'), `registered, at ${page.url()}`);
    await expectHeading(page, 'Confirm your email address');
    await expectFlash(page, 'we have emailed it a link and a 6-digit code');
    // Registering does not log in.
    check(
      (await page.locator('header .current-user').count()) === 0,
      'registering must not log in',
    );
  });

  let code;
  await step('read the confirmation code from the dev mailbox', async () => {
    const mail = await openNewestMail(page, baseUrl, email, 'confirm');
    remember('confirm', mail);
    check(/^Confirm your .+ account$/.test(mail.subject), `confirm mail subject: ${mail.subject}`);
    code = codeIn(mail.text);
    // The HTML part carries the same code and link.
    check(mail.html && mail.html.includes(code), 'the HTML part shows the code');
    const link = linkIn(mail.text, baseUrl, '/users/confirm/');
    check(mail.html.includes(link), `the HTML part links ${link}`);
    // The preview is styled (the frame's own CSP lets the mail's inline styles apply, while
    // the page keeps the strict one), and a click on its link opens it in the window.
    const button = page
      .frameLocator('iframe.mail-html')
      .getByRole('link', { name: 'Confirm my account' });
    const background = await button.evaluate((a) => getComputedStyle(a).backgroundColor);
    check(
      background === 'rgb(11, 92, 173)',
      `the mail's inline styles apply in the preview (background: ${background})`,
    );
    await navigates(page, () => button.click());
    check(page.url() === link, `the preview's link opened in the window, at ${page.url()}`);
    await expectHeading(page, 'Confirm your email address');
  });

  await step('confirm with the code', async () => {
    await visit(page, baseUrl, '/users/confirm');
    await expectHeading(page, 'Confirm your email address');
    const form = page.locator('form[action="/users/confirm"]');
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Code').fill(code);
    await navigates(page, () => form.getByRole('button', { name: 'Confirm' }).click());
    await expectFlash(page, 'Your email address is confirmed. Welcome!');
    await expectLoggedInHome(page);
    check(
      (await page.locator('.banner').count()) === 0,
      'no "not confirmed" banner once confirmed',
    );
  });

  await step('settings ask for the password first (no sudo after a code confirmation)', async () => {
    await navigates(page, () =>
      page.locator('header').getByRole('link', { name: 'Settings' }).click(),
    );
    await expectHeading(page, 'Account settings');
    await expectText(page, 'To change your email address or password, first confirm your password.');
    check(
      (await page.getByLabel('New password', { exact: true }).count()) === 0,
      'no password form outside sudo mode',
    );
  });

  await step('log out', () => logOut(page));

  await step('log in with the password', async () => {
    await logIn(page, firstPassword);
    await expectLoggedInHome(page);
  });

  await step('settings -> sudo: confirm the password', async () => {
    await visit(page, baseUrl, '/users/settings');
    await expectHeading(page, 'Account settings');
    const sudoLink = page.getByRole('link', { name: 'confirm your password' });
    if ((await sudoLink.count()) > 0) {
      await navigates(page, () => sudoLink.click());
    } else {
      // A password login is itself a fresh authentication, so the settings page already
      // shows its forms; confirm the password anyway, as a person coming back later would.
      await visit(page, baseUrl, '/users/sudo?return_to=/users/settings');
    }
    await expectHeading(page, 'Confirm your password');
    await page.getByLabel('Password', { exact: true }).fill(firstPassword);
    await navigates(page, () => page.getByRole('button', { name: 'Continue' }).click());
    check(page.url() === urlFor(baseUrl, '/users/settings'), `after sudo, at ${page.url()}`);
    await expectHeading(page, 'Account settings');
    await expectFlash(page, 'Password confirmed.');
  });

  await step('change the password', async () => {
    await page.getByLabel('New password', { exact: true }).fill(changedPassword);
    await page.getByLabel('Repeat the new password').fill(changedPassword);
    await navigates(page, () => page.getByRole('button', { name: 'Change password' }).click());
    await expectHeading(page, 'Account settings');
    await expectFlash(page, 'Your password is changed. Your other sessions were logged out.');
    await expectNoFormErrors(page);
    // Still logged in here (the session was renewed).
    const shown = await page.locator('header .current-user').innerText();
    check(shown.trim() === email, `still logged in as ${email} after the change`);
  });

  const phone = await newPage(browser, { userAgent: phoneUserAgent });
  trackDocuments(phone.page);
  await step('a second device logs in with the changed password', async () => {
    await logIn(phone.page, changedPassword);
    await expectLoggedInHome(phone.page);
    await visit(phone.page, baseUrl, '/users/sessions');
    await expectHeading(phone.page, 'Your sessions');
  });

  await step('the first device sees the second on /users/sessions and logs it out', async () => {
    await navigates(page, () =>
      page.locator('header').getByRole('link', { name: 'Sessions' }).click(),
    );
    await expectHeading(page, 'Your sessions');
    const rows = page.locator('table.sessions tbody tr');
    check((await rows.count()) === 2, `two sessions listed, found ${await rows.count()}`);
    const current = rows.filter({ hasText: 'this session' });
    check((await current.count()) === 1, 'one row is marked "this session"');
    check(
      (await current.innerText()).includes('Chrome on Linux'),
      `this session is Chrome on Linux: ${await current.innerText()}`,
    );
    const other = rows.filter({ hasNotText: 'this session' });
    check(
      (await other.innerText()).includes('Safari on iPhone'),
      `the other session is the phone (Safari on iPhone): ${await other.innerText()}`,
    );
    check((await other.innerText()).includes('127.0.0.1'), 'the IP address is shown');
    await navigates(page, () =>
      other.getByRole('button', { name: /^Log out Safari on iPhone/ }).click(),
    );
    await expectHeading(page, 'Your sessions');
    await expectFlash(page, 'That session is logged out.');
    check((await rows.count()) === 1, `one session left, found ${await rows.count()}`);
  });

  await step("the second device's next page load is logged out", async () => {
    await navigates(phone.page, () => phone.page.reload());
    check(
      new URL(phone.page.url()).pathname === '/users/log_in',
      `the revoked device is sent to log in, at ${phone.page.url()}`,
    );
    await expectHeading(phone.page, 'Log in');
    check(
      (await phone.page.locator('header .current-user').count()) === 0,
      'the revoked device shows nobody logged in',
    );
    await phone.context.close();
  });

  await step('log out', () => logOut(page));

  await step('Back after logging out shows no account page', async () => {
    // Account pages are `no-store`: Back must not bring the sessions list back from a cache.
    await page.goBack();
    await page.waitForLoadState('load');
    check(
      new URL(page.url()).pathname === '/users/log_in',
      `Back after logging out lands on the login page, at ${page.url()}`,
    );
    await expectHeading(page, 'Log in');
    check(
      (await page.locator('table.sessions').count()) === 0,
      'Back after logging out must not show the sessions list',
    );
  });

  let resetLink;
  await step('request a password reset', async () => {
    const before = await countMail(page, baseUrl, email, 'reset_password');
    await visit(page, baseUrl, '/users/log_in');
    await navigates(page, () => page.getByRole('link', { name: 'Forgot your password?' }).click());
    await expectHeading(page, 'Forgot your password?');
    await page.getByLabel('Email').fill(email);
    await navigates(page, () => page.getByRole('button', { name: 'Send the link' }).click());
    await expectHeading(page, 'Log in');
    await expectFlash(page, 'If that email address has an account, a link to reset its password is on its way.');
    const mail = await openNewestMail(page, baseUrl, email, 'reset_password', { before });
    remember('reset_password', mail);
    check(/^Reset your .+ password$/.test(mail.subject), `reset mail subject: ${mail.subject}`);
    resetLink = linkIn(mail.text, baseUrl, '/users/reset_password/');
    check(mail.html && mail.html.includes(resetLink), 'the HTML part has the same link');
  });

  await step('follow the mailed link and set a new password', async () => {
    await page.goto(resetLink);
    await expectHeading(page, 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill(resetPassword);
    await page.getByLabel('Repeat the new password').fill(resetPassword);
    await navigates(page, () => page.getByRole('button', { name: 'Set the new password' }).click());
    await expectHeading(page, 'Log in');
    await expectFlash(page, 'Your password is reset. Log in with the new one.');
  });

  await step('log in with the new password', async () => {
    await logIn(page, resetPassword);
    await expectLoggedInHome(page);
  });

  await step('log out', () => logOut(page));

  let magicLink;
  await step('request a magic link', async () => {
    const before = await countMail(page, baseUrl, email, 'magic_link');
    await visit(page, baseUrl, '/users/log_in');
    await expectHeading(page, 'Log in');
    const form = page.locator('form[action="/users/log_in/magic"]');
    await form.getByLabel('Email').fill(email);
    await navigates(page, () => form.getByRole('button', { name: 'Send me a login link' }).click());
    await expectHeading(page, 'Log in');
    await expectFlash(page, 'If that email address has an account, a login link is on its way.');
    const mail = await openNewestMail(page, baseUrl, email, 'magic_link', { before });
    remember('magic_link', mail);
    check(/login link$/.test(mail.subject), `magic link mail subject: ${mail.subject}`);
    magicLink = linkIn(mail.text, baseUrl, '/users/log_in/');
    check(mail.html && mail.html.includes(magicLink), 'the HTML part has the same link');
  });

  await step('the job worker sent every mail', async () => {
    // The flows put each mail in the outbox; the app's job worker sends it (in dev mode it
    // keeps the content for this page) and the list says so.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ours = (await listMail(page, baseUrl)).filter((mail) => mail.to === email);
      const unsent = ours.filter((mail) => mail.status !== 'sent');
      if (unsent.length === 0) {
        check(ours.length >= 3, `at least 3 mails to ${email} listed, found ${ours.length}`);
        for (const mail of ours) {
          check(
            mail.attempts === 1 && mail.lastError === '',
            `the ${mail.kind} mail was sent at the first attempt: ${JSON.stringify(mail)}`,
          );
        }
        break;
      }
      check(Date.now() < deadline, `mail not sent after 10 s: ${JSON.stringify(unsent)}`);
      await page.waitForTimeout(150);
    }
  });

  await step('follow the magic link and press the button', async () => {
    await page.goto(magicLink);
    await expectHeading(page, 'Log in');
    await expectText(page, 'You are about to log in with the link we emailed you.');
    // Opening the link alone logs nobody in (mail scanners open links).
    check(
      (await page.locator('header .current-user').count()) === 0,
      'opening the magic link alone must not log in',
    );
    await navigates(page, () => page.locator('main').getByRole('button', { name: 'Log in' }).click());
    await expectFlash(page, 'Welcome back! You are logged in.');
    await expectLoggedInHome(page);
  });

  const finalShot = await screenshot('final');
  return {
    email,
    steps,
    mails,
    totalMs: steps.reduce((sum, s) => sum + s.ms, 0),
    screenshot: finalShot,
    userAgent: await page.evaluate(() => navigator.userAgent),
  };
});
