import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions<T> {
  /** What is being waited for, for the error message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Done when this holds for the probe's value (default: the value is truthy). */
  until?: (value: T) => boolean;
  /** Checked before every probe: a non-null string stops the wait at once with that reason (e.g. a process died). */
  abortIf?: () => string | null;
}

/** Thrown when a wait times out or is aborted; carries the last value or error observed. */
export class WaitTimeoutError extends Error {
  constructor(message: string, readonly lastValue: unknown, readonly lastError: unknown) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

export function describeValue(v: unknown, maxChars = 2000): string {
  let text: string;
  if (v instanceof Error) text = `${v.name}: ${v.message}`;
  else if (typeof v === 'string') text = JSON.stringify(v);
  else {
    try {
      text = JSON.stringify(v) ?? String(v);
    } catch {
      text = String(v);
    }
  }
  return text.length > maxChars ? `${text.slice(0, maxChars)}... (${text.length} chars)` : text;
}

/**
 * Poll `probe` until its value satisfies `until` (default: truthy) and return that value.
 * A probe that throws counts as "not yet". On the deadline, throw an error naming what was
 * awaited and the last value and error observed.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitForOptions<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const until = opts.until ?? ((v: T) => Boolean(v));
  const started = Date.now();
  const deadline = started + timeoutMs;
  let attempts = 0;
  let hasValue = false;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    const aborted = opts.abortIf?.();
    if (aborted) {
      throw new WaitTimeoutError(`gave up waiting for ${opts.what}: ${aborted}${lastSeen()}`, lastValue, lastError);
    }
    attempts++;
    try {
      const value = await probe();
      hasValue = true;
      lastValue = value;
      lastError = undefined;
      if (until(value)) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(
        `timed out after ${Date.now() - started} ms (${attempts} attempts) waiting for ${opts.what}${lastSeen()}`,
        lastValue,
        lastError,
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }

  function lastSeen(): string {
    const parts: string[] = [];
    if (hasValue) parts.push(`last value: ${describeValue(lastValue)}`);
    if (lastError !== undefined) parts.push(`last error: ${describeValue(lastError)}`);
    return parts.length ? `; ${parts.join('; ')}` : '; nothing observed yet';
  }
}
