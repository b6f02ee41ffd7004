// Every auth page of the host app, as a browser renders it, has what assistive technology
// needs: `<html lang>`, a `<title>`, an `<h1>`, a label for every field (a <label> tied to it,
// or aria-labelledby / aria-label), aria-describedby pointing at elements that exist, unique
// ids (a duplicate id breaks label association), a name for every button, a title for every
// frame. Pages are checked logged out, logged in, in sudo mode, and with form errors shown.
//
// tests/tests/e2e_golden_path.rs starts the app (dev mode, fresh database) and runs this.
// Fails with every offending page and field listed.
import { check, requireEnv, runSpec } from '../lib/browser.mjs';
import {
  codeIn,
  expectFlash,
  expectHeading,
  linkIn,
  navigates,
  openNewestMail,
  trackDocuments,
  visit,
} from '../lib/host_app.mjs';

const baseUrl = requireEnv('BASE_URL');
const email = `a11y-${Date.now()}@example.com`;
const password = 'sapphire kettle meadow ninety';

/** Runs in the page: what is missing for assistive technology. */
function audit() {
  const problems = [];
  const show = (el) => {
    const bits = [el.tagName.toLowerCase()];
    for (const attr of ['type', 'name', 'id']) {
      if (el.getAttribute(attr)) bits.push(`${attr}="${el.getAttribute(attr)}"`);
    }
    return `<${bits.join(' ')}>`;
  };
  const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');

  const lang = document.documentElement.getAttribute('lang');
  if (!lang || !lang.trim()) problems.push('<html> has no lang attribute');
  if (!document.title.trim()) problems.push('the page has no <title>');
  const headings = [...document.querySelectorAll('h1')].map(text).filter(Boolean);
  if (headings.length === 0) problems.push('the page has no <h1> (with text)');

  const counts = new Map();
  for (const el of document.querySelectorAll('[id]')) counts.set(el.id, (counts.get(el.id) || 0) + 1);
  for (const [id, n] of counts) if (n > 1) problems.push(`id "${id}" is used ${n} times`);

  const notFields = ['hidden', 'submit', 'button', 'reset', 'image'];
  const fields = [...document.querySelectorAll('input, select, textarea')].filter(
    (el) => !(el.tagName === 'INPUT' && notFields.includes(el.type)),
  );
  for (const field of fields) {
    const labels = [...(field.labels || [])].map(text).filter(Boolean);
    const labelledBy = (field.getAttribute('aria-labelledby') || '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => text(document.getElementById(id)))
      .filter(Boolean);
    const ariaLabel = (field.getAttribute('aria-label') || '').trim();
    if (labels.length === 0 && labelledBy.length === 0 && !ariaLabel) {
      problems.push(`field ${show(field)} has no label`);
    }
    for (const id of (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)) {
      if (!document.getElementById(id)) {
        problems.push(`field ${show(field)}: aria-describedby names #${id}, which does not exist`);
      }
    }
  }
  for (const label of document.querySelectorAll('label[for]')) {
    if (!document.getElementById(label.htmlFor)) {
      problems.push(`label "${text(label)}" is for #${label.htmlFor}, which does not exist`);
    }
  }
  for (const button of document.querySelectorAll('button, input[type="submit"], input[type="button"]')) {
    const name = text(button) || button.value || button.getAttribute('aria-label') || '';
    if (!name.trim()) problems.push(`button ${show(button)} has no name`);
  }
  for (const frame of document.querySelectorAll('iframe')) {
    if (!(frame.getAttribute('title') || '').trim()) problems.push(`frame ${show(frame)} has no title`);
  }
  return { fields: fields.length, headings, problems };
}

await runSpec('forms_a11y', async ({ page }) => {
  trackDocuments(page);
  const pages = [];
  const problems = [];
  const inspect = async (name) => {
    const found = await page.evaluate(audit);
    pages.push({ name, url: page.url(), fields: found.fields, h1: found.headings });
    for (const problem of found.problems) problems.push(`${name} (${page.url()}): ${problem}`);
  };
  const open = async (path, { name = path, status = 200 } = {}) => {
    await visit(page, baseUrl, path, { status });
    await inspect(name);
  };
  /** Posts the form that `button` is in, with what is filled in, and inspects the answer. */
  const submitAndInspect = async (name, button, status) => {
    await navigates(page, () => button.click(), { status });
    await inspect(name);
  };

  // Logged out.
  await open('/');
  await open('/users/register');
  await open('/users/log_in');
  await open('/users/confirm');
  await open('/users/reset_password');
  await open('/users/reset_password/not-a-valid-token', {
    name: '/users/reset_password/{invalid token}',
    status: 422,
  });
  await open('/users/log_in/some-token', { name: '/users/log_in/{token}' });
  await open('/users/confirm/some-token', { name: '/users/confirm/{token}' });
  await open('/no/such/page', { name: '404 page', status: 404 });

  // Forms showing their errors.
  await visit(page, baseUrl, '/users/register');
  await submitAndInspect(
    '/users/register (with errors)',
    page.getByRole('button', { name: 'Create account' }),
    422,
  );
  await visit(page, baseUrl, '/users/log_in');
  await submitAndInspect(
    '/users/log_in (with errors)',
    page.locator('form[action="/users/log_in"]').getByRole('button', { name: 'Log in' }),
    422,
  );
  await visit(page, baseUrl, '/users/confirm');
  await submitAndInspect(
    '/users/confirm (with errors)',
    page.locator('form[action="/users/confirm"]').getByRole('button', { name: 'Confirm' }),
    422,
  );

  // Register and confirm: logged in, not in sudo mode.
  await visit(page, baseUrl, '/users/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await navigates(page, () => page.getByRole('button', { name: 'Create account' }).click());
  await expectHeading(page, 'Confirm your email address');
  const confirmMail = await openNewestMail(page, baseUrl, email, 'confirm');
  await inspect('/dev/mailbox/{id}');
  await open('/dev/mailbox');
  await visit(page, baseUrl, '/users/confirm');
  const form = page.locator('form[action="/users/confirm"]');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Code').fill(codeIn(confirmMail.text));
  await navigates(page, () => form.getByRole('button', { name: 'Confirm' }).click());
  await expectFlash(page, 'Your email address is confirmed.');
  await inspect('/ (logged in)');

  await open('/users/settings', { name: '/users/settings (not in sudo)' });
  await open('/users/sessions');
  await open('/users/settings/confirm_email/some-token', {
    name: '/users/settings/confirm_email/{token}',
  });
  await open('/users/sudo?return_to=/users/settings', { name: '/users/sudo' });
  await page.getByLabel('Password', { exact: true }).fill('not my password at all');
  await submitAndInspect(
    '/users/sudo (with errors)',
    page.getByRole('button', { name: 'Continue' }),
    422,
  );
  await page.getByLabel('Password', { exact: true }).fill(password);
  await navigates(page, () => page.getByRole('button', { name: 'Continue' }).click());
  await expectFlash(page, 'Password confirmed.');
  await inspect('/users/settings (in sudo)');
  check(
    (await page.getByLabel('New password', { exact: true }).count()) === 1,
    'in sudo mode, settings show the password form',
  );
  await page.getByLabel('New password', { exact: true }).fill('one long new passphrase');
  await page.getByLabel('Repeat the new password').fill('another long new passphrase');
  await submitAndInspect(
    '/users/settings (with errors)',
    page.getByRole('button', { name: 'Change password' }),
    422,
  );

  // Log out, then the reset link's page.
  await navigates(page, () => page.locator('header').getByRole('button', { name: 'Log out' }).click());
  await visit(page, baseUrl, '/users/reset_password');
  await page.getByLabel('Email').fill(email);
  await navigates(page, () => page.getByRole('button', { name: 'Send the link' }).click());
  const resetMail = await openNewestMail(page, baseUrl, email, 'reset_password');
  const resetLink = linkIn(resetMail.text, baseUrl, '/users/reset_password/');
  await page.goto(resetLink);
  await expectHeading(page, 'Choose a new password');
  await inspect('/users/reset_password/{token}');
  await page.getByLabel('New password', { exact: true }).fill('one long new passphrase');
  await page.getByLabel('Repeat the new password').fill('another long new passphrase');
  await submitAndInspect(
    '/users/reset_password/{token} (with errors)',
    page.getByRole('button', { name: 'Set the new password' }),
    422,
  );

  if (problems.length > 0) {
    throw new Error(
      `${problems.length} accessibility problem(s) on ${pages.length} pages:\n  ${problems.join('\n  ')}`,
    );
  }
  return { pages, problems };
});
