import type { FogClientError } from '@fog/client';

/** fogctl's exit codes, for scripts. */
export const EXIT = {
  ok: 0,
  /** Any other failure (a server error, a batch with failed operations). */
  failed: 1,
  /** Bad arguments, or input the server refused as malformed or too large (400, 413). */
  usage: 2,
  /** The key (or node) does not exist (404). */
  notFound: 3,
  /** A conditional write's version did not match (409). */
  conflict: 4,
  /** The cluster could not serve it now: quorum not met, overloaded, no frontend answered, timeout (503, 504). */
  unavailable: 5,
  /** decommission: the node still held partitions when --timeout-s ran out. */
  timedOut: 6,
} as const;

/** The exit code for a failed call. */
export function exitCodeOf(err: FogClientError): number {
  if (err.code === 'FOG_CLIENT_UNREACHABLE' || err.code === 'FOG_CLIENT_TIMEOUT') return EXIT.unavailable;
  const s = err.status ?? 0;
  if (s === 404) return EXIT.notFound;
  if (s === 409) return EXIT.conflict;
  if (s === 400 || s === 413) return EXIT.usage;
  if (s === 503 || s === 504) return EXIT.unavailable;
  return EXIT.failed;
}
