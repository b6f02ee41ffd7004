// Named steps for a spec: each step's duration is recorded, and an error thrown inside one
// says which step it was, in its message and in its stack (runSpec prints the stack; V8 and
// Playwright may have fixed its text before the step adds its name, so both are rewritten).

/**
 * A step runner and the list it fills: `const { step, steps } = stepper();` then
 * `await step('log in', async () => { ... })`; `steps` holds { name, ms } per finished step.
 */
export function stepper() {
  const steps = [];
  async function step(name, body) {
    const started = Date.now();
    try {
      await body();
    } catch (err) {
      if (err instanceof Error) {
        const prefix = `step "${name}": `;
        const original = err.message;
        // Read the stack first: V8 formats it lazily, on first access.
        const stack = err.stack;
        err.message = `${prefix}${original}`;
        if (typeof stack === 'string') {
          err.stack = stack.includes(original)
            ? stack.replace(original, () => err.message)
            : `${prefix}${stack}`;
        }
      }
      throw err;
    }
    steps.push({ name, ms: Date.now() - started });
  }
  return { step, steps };
}
