// Proves the browser set-up (tests/tests/infra_browser.rs serves the page): open a page, fill a
// form, click a button that changes the page, screenshot it, post the form, and reach the
// WebAuthn domain through CDP (a virtual authenticator, as the passkey tests will use).
import { addVirtualAuthenticator, check, requireEnv, runSpec } from '../lib/browser.mjs';

const baseUrl = requireEnv('BASE_URL');
const name = requireEnv('NAME');

await runSpec('infra_smoke', async ({ page, screenshot, browser }) => {
  await page.goto(baseUrl);
  const title = await page.title();

  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Greet' }).click();
  const greeting = page.locator('#greeting');
  await greeting.filter({ hasText: `Hello, ${name}!` }).waitFor();
  const greetingText = await greeting.textContent();
  const greetedShot = await screenshot('greeted');

  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL('**/submit');
  const received = await page.locator('#received').textContent();

  const authenticator = await addVirtualAuthenticator(page);
  check(authenticator.authenticatorId, 'the virtual authenticator has an id');
  const credentials = await authenticator.credentials();
  await authenticator.remove();

  return {
    title,
    greeting: greetingText,
    received,
    screenshot: greetedShot,
    authenticatorId: authenticator.authenticatorId,
    credentials: credentials.length,
    browserVersion: browser.version(),
    userAgent: await page.evaluate(() => navigator.userAgent),
  };
});
