// Helpers for specs that drive the generated host app (examples/host): waiting for a form post
// to land, reading what the page says, and reading mail from the dev mailbox (/dev/mailbox),
// the way a person would: open the list, open the mail, read the code or copy the link.
//
// Every assertion throws an Error that names the page (its URL and <h1>) so a failing spec
// says where it was.

import { check } from './browser.mjs';

/** `path` on the app: BASE_URL without its trailing slash, then the path. */
export function urlFor(baseUrl, path) {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/**
 * Records the status of every main-frame document `page` loads (a redirect shows as its
 * final page's status) in `page.__docStatuses`, so a spec can check a form post did not
 * answer 4xx/5xx.
 */
export function trackDocuments(page) {
  const statuses = [];
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      statuses.push({ url: response.url(), status: response.status(), method: request.method() });
    }
  });
  page.__docStatuses = statuses;
  return statuses;
}

/** The last main-frame document `page` loaded: { url, status, method }. */
export function lastDocument(page) {
  const statuses = page.__docStatuses || [];
  return statuses[statuses.length - 1];
}

/**
 * Runs `action` (a click on a submit button, say) and waits until the page it leads to has
 * loaded. Checks the final document answered 200 unless `status` says otherwise.
 */
export async function navigates(page, action, { status = 200 } = {}) {
  const loaded = page.waitForEvent('load');
  await action();
  await loaded;
  const doc = lastDocument(page);
  if (doc && status !== undefined) {
    check(
      doc.status === status,
      `${doc.method} ${doc.url} answered ${doc.status}, expected ${status}; the page says: ${await describe(page)}`,
    );
  }
}

/** Goes to `path` and checks the answer's status (200 unless `status` says otherwise). */
export async function visit(page, baseUrl, path, { status = 200 } = {}) {
  const response = await page.goto(urlFor(baseUrl, path));
  check(response, `no response for ${path}`);
  check(
    response.status() === status,
    `GET ${path} answered ${response.status()}, expected ${status}; the page says: ${await describe(page)}`,
  );
  return response;
}

/** A short description of the page for error messages: URL, <h1>, flash and form errors. */
export async function describe(page) {
  const bits = [`at ${page.url()}`];
  try {
    const h1 = await page.locator('h1').allInnerTexts();
    bits.push(`h1=${JSON.stringify(h1)}`);
    const flash = await page.locator('.flash').allInnerTexts();
    if (flash.length) bits.push(`flash=${JSON.stringify(flash)}`);
    const errors = await page.locator(':is(.form-error, .field-error):visible').allInnerTexts();
    if (errors.length) bits.push(`errors=${JSON.stringify(errors)}`);
  } catch (err) {
    bits.push(`(page unreadable: ${err.message})`);
  }
  return bits.join(' ');
}

/** Checks the page's only <h1> reads `text`. */
export async function expectHeading(page, text) {
  const h1 = (await page.locator('h1').allInnerTexts()).map((t) => t.trim());
  check(
    h1.length === 1 && h1[0] === text,
    `expected the heading "${text}"; ${await describe(page)}`,
  );
}

/** Checks the info flash message contains `text`. */
export async function expectFlash(page, text, kind = 'info') {
  const flash = (await page.locator(`.flash-${kind}`).allInnerTexts()).join(' ');
  check(flash.includes(text), `expected the ${kind} message "${text}"; ${await describe(page)}`);
}

/** Checks the main content contains `text`. */
export async function expectText(page, text) {
  const main = await page.locator('main').innerText();
  check(main.includes(text), `expected the page to say "${text}"; ${await describe(page)}`);
}

/** Checks the page shows no form errors. */
export async function expectNoFormErrors(page) {
  // Visible ones only: the passkey blocks keep an empty, hidden error line for their script.
  const errors = await page
    .locator(':is(.form-error, .field-error, .flash-error):visible')
    .allInnerTexts();
  check(errors.length === 0, `unexpected errors on the page: ${await describe(page)}`);
}

/**
 * The dev mailbox list (the outbox), newest first: { created, to, kind, status, attempts,
 * lastError, href } for each mail; `href` is the mail's page.
 */
export async function listMail(page, baseUrl) {
  await visit(page, baseUrl, '/dev/mailbox');
  await expectHeading(page, 'Dev mailbox');
  return page.locator('tbody tr').evaluateAll((rows) =>
    rows.map((row) => {
      const [created, to, kind, status, attempts, lastError] = [
        ...row.querySelectorAll('td'),
      ].map((td) => td.innerText.trim());
      const href = row.querySelector('a')?.getAttribute('href') || '';
      return { created, to, kind, status, attempts: Number(attempts), lastError, href };
    }),
  );
}

/** The links (hrefs) of the dev mailbox list's `kind` mails to `to`, newest first. */
async function mailRows(page, baseUrl, to, kind) {
  const mails = await listMail(page, baseUrl);
  return mails.filter((mail) => mail.to === to && mail.kind === kind).map((mail) => mail.href);
}

/** How many `kind` mails to `to` the dev mailbox lists. */
export async function countMail(page, baseUrl, to, kind) {
  return (await mailRows(page, baseUrl, to, kind)).length;
}

/**
 * Waits until the dev mailbox lists more than `before` `kind` mails to `to` (a flow puts its
 * mail in the outbox before it answers, so the wait is only a safety margin), opens the newest
 * and returns { subject, text, html, url } (`url`: the mail page).
 */
export async function openNewestMail(page, baseUrl, to, kind, { before = 0, timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let rows = await mailRows(page, baseUrl, to, kind);
  while (rows.length <= before) {
    check(
      Date.now() < deadline,
      `no new ${kind} mail to ${to} in the dev mailbox after ${timeoutMs} ms (had ${before})`,
    );
    await page.waitForTimeout(150);
    rows = await mailRows(page, baseUrl, to, kind);
  }
  await navigates(page, () => page.locator(`tbody a[href="${rows[0]}"]`).click());
  const subject = (await page.locator('h1').innerText()).trim();
  const text = await page.locator('pre.mail-text').innerText();
  let html = null;
  if ((await page.locator('iframe.mail-html').count()) > 0) {
    html = await page.frameLocator('iframe.mail-html').locator('body').innerHTML();
  }
  return { subject, text, html, url: page.url() };
}

/** The first link to `path` (a prefix such as "/users/reset_password/") in a mail's text. */
export function linkIn(text, baseUrl, path) {
  const prefix = urlFor(baseUrl, path);
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = text.match(new RegExp(`${escaped}[^\\s<>"]+`));
  check(match, `no link starting ${prefix} in the mail:\n${text}`);
  return match[0];
}

/** The 6-digit code in a mail's text. */
export function codeIn(text) {
  const match = text.match(/(?:^|\s)(\d{6})(?:\s|$)/);
  check(match, `no 6-digit code in the mail:\n${text}`);
  return match[1];
}
