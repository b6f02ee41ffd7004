// The one place that says how Sigra's end-to-end specs start Chromium. Every spec in
// specs/ imports it (tests/tests/infra_browser.rs checks that).
//
// Playwright drives Debian's Chromium (/usr/bin/chromium, or SIGRA_CHROMIUM): no browser is
// ever downloaded. The flags keep it headless, working as root in a container, and quiet on a
// machine whose only network is loopback. Playwright gives each launch a fresh, temporary
// --user-data-dir and deletes it on close.
//
// A spec is a script run by sigra_tests::browser::run_spec with its inputs in environment
// variables; it calls runSpec(name, async ({ page, ... }) => result). The result is printed as
// the last line of stdout (JSON), which the Rust test reads. On failure the error goes to
// stderr, a screenshot of the page goes to target/e2e-artifacts/<name>-failure.png, and the
// script exits non-zero.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The Chromium binary. */
export const executablePath = process.env.SIGRA_CHROMIUM || '/usr/bin/chromium';

/** The command-line flags every launch uses. */
export const chromiumArgs = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-dev-shm-usage',
]);

/** Where screenshots and traces go (target/e2e-artifacts unless SIGRA_E2E_ARTIFACTS says). */
export const artifactsDir =
  process.env.SIGRA_E2E_ARTIFACTS || path.resolve(here, '../../../target/e2e-artifacts');

/** How long one action or assertion may wait before the spec fails (ms). */
export const actionTimeout = Number(process.env.SIGRA_E2E_ACTION_TIMEOUT_MS || 15_000);

/** Launches Chromium with the shared options (plus `options`, which may not change them). */
export async function launch(options = {}) {
  return chromium.launch({
    ...options,
    executablePath,
    headless: true,
    chromiumSandbox: false,
    args: [...chromiumArgs, ...(options.args || [])],
    timeout: 60_000,
  });
}

/** A new isolated context (its own cookies and storage) and a page in it. */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  context.setDefaultTimeout(actionTimeout);
  const page = await context.newPage();
  return { context, page };
}

/**
 * A Chrome DevTools Protocol session for `page`: the way to domains Playwright does not wrap,
 * such as WebAuthn (see addVirtualAuthenticator).
 */
export async function cdpSession(page) {
  return page.context().newCDPSession(page);
}

/**
 * Adds a virtual WebAuthn authenticator (CDP WebAuthn domain) to `page`: a platform
 * authenticator with resident keys and user verification that answers without a person.
 * Returns { cdp, authenticatorId, credentials(), remove() }.
 */
export async function addVirtualAuthenticator(page, options = {}) {
  const cdp = await cdpSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  return {
    cdp,
    authenticatorId,
    credentials: async () =>
      (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    remove: () => cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }),
  };
}

/** An environment variable the spec needs; throws a clear error when it is missing. */
export function requireEnv(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`this spec needs the environment variable ${name}`);
  }
  return value;
}

/** Fails the spec with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

/**
 * Runs one spec: launches Chromium, opens a page, calls `body`, prints its result as the last
 * line of stdout (JSON) and exits 0. On an error: screenshot, the error and the page's console
 * errors on stderr, exit 1.
 *
 * `body` gets { browser, context, page, screenshot(label) -> path, artifact(file) -> path }.
 */
export async function runSpec(name, body) {
  mkdirSync(artifactsDir, { recursive: true });
  const artifact = (file) => path.join(artifactsDir, file);
  const screenshot = async (page, label) => {
    const file = artifact(`${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
  const pageErrors = [];
  let browser;
  let page;
  let code = 0;
  try {
    browser = await launch();
    const opened = await newPage(browser);
    page = opened.page;
    page.on('pageerror', (err) => pageErrors.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`console error: ${msg.text()}`);
    });
    const result = await body({
      browser,
      context: opened.context,
      page,
      screenshot: (label) => screenshot(page, label),
      artifact,
    });
    process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
  } catch (err) {
    code = 1;
    process.stderr.write(`spec ${name} failed: ${err && err.stack ? err.stack : err}\n`);
    if (page) {
      try {
        const file = await screenshot(page, 'failure');
        process.stderr.write(`screenshot of the page: ${file} (at ${page.url()})\n`);
      } catch (shotErr) {
        process.stderr.write(`no screenshot: ${shotErr.message}\n`);
      }
    }
    for (const line of pageErrors) process.stderr.write(`${line}\n`);
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
  process.exit(code);
}
