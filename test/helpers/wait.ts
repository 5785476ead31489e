// Polling for tests that wait on something asynchronous (a worker, a posted message, a stored state).

/** Polls `check` until it returns a truthy value and returns it; throws once `timeoutMs` has passed. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  pollMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
