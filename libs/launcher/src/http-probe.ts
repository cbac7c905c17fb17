/** Longest a readiness probe may wait for one answer. */
export const PROBE_TIMEOUT_MS = 1000;

/**
 * GET a URL and parse its JSON body; null when there is no answer within `timeoutMs`, the
 * status is not 2xx or the body is not JSON. For readiness polling, where "not yet" is normal.
 */
export async function probeJson<T = Record<string, unknown>>(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<T | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    return (await res.json()) as T;
  } catch {
    return null;
  }
}
