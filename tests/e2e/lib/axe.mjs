// axe-core (npm `axe-core`, pinned in package.json) on the page a spec is looking at.
//
// The app's Content-Security-Policy (`default-src 'self'`) refuses inline scripts, so
// Playwright's addScriptTag cannot add axe. Its source is evaluated through the DevTools
// protocol instead (page.evaluate with a string), which the page's CSP does not govern: the
// page keeps its real CSP and axe sees it as a visitor would. axe itself needs no eval.
//
// checkPage() runs every rule axe runs by default (WCAG 2.0-2.2 A/AA and best practices) and
// returns the violations; a spec decides what fails (serious and critical ones, see
// BLOCKING_IMPACTS) and reports the others.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The axe-core script (its minified build from node_modules). */
let source;
function axeSource() {
  source ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return source;
}

/** The installed axe-core version. */
export const axeVersion = require('axe-core/package.json').version;

/** Impacts that fail a spec. */
export const BLOCKING_IMPACTS = Object.freeze(['serious', 'critical']);

/**
 * Runs axe on `page`'s document (adding axe to it first if this document has none yet) and
 * returns { url, violations: [{ id, impact, help, helpUrl, nodes: [{ target, html, summary }] }],
 * passes, incomplete } (`passes`/`incomplete`: rule counts).
 */
export async function checkPage(page, options = {}) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axeSource());
  }
  const found = await page.evaluate(
    async (runOptions) => {
      const results = await window.axe.run(document, runOptions);
      return {
        violations: results.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({
            target: n.target.join(' '),
            html: n.html,
            summary: n.failureSummary,
          })),
        })),
        passes: results.passes.length,
        incomplete: results.incomplete.map((v) => v.id),
      };
    },
    { resultTypes: ['violations'], ...options },
  );
  return { url: page.url(), ...found };
}

/** The violations that fail a spec (serious or critical). */
export function blocking(violations) {
  return violations.filter((v) => BLOCKING_IMPACTS.includes(v.impact));
}

/** A violation as readable lines: rule, impact, help, and each element with axe's summary. */
export function formatViolation(v) {
  const lines = [`[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`];
  for (const node of v.nodes) {
    lines.push(`    element ${node.target}: ${node.html}`);
    for (const line of (node.summary || '').split('\n')) {
      if (line.trim()) lines.push(`      ${line.trim()}`);
    }
  }
  return lines.join('\n');
}
