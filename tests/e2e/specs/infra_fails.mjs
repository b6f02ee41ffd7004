// Fails on purpose (tests/tests/infra_browser.rs checks that a failing spec fails the Rust
// test with the spec's error and leaves a screenshot of the page).
import { requireEnv, runSpec } from '../lib/browser.mjs';

const baseUrl = requireEnv('BASE_URL');

await runSpec('infra_fails', async ({ page }) => {
  await page.goto(baseUrl);
  await page.getByRole('button', { name: 'No such button' }).click({ timeout: 1_000 });
});
