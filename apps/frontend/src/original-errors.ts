import type { FogError } from '@fog/protocol';

/**
 * The original API answers every error as one line of text, `CODE: message`, whatever its
 * status: 501 for incorrect usage (as the original design documents), 404 for a missing key,
 * and 503/504/500 when the cluster cannot serve. One shape means a client of the original API
 * needs one parser; the v1 API answers the same codes as JSON.
 */
export function originalErrorLine(err: Pick<FogError, 'code' | 'message'>): string {
  return `${err.code}: ${err.message}\n`;
}

/** POST /set/?key=K&value=V with a non-empty body: which value was meant is unclear, so nothing is stored. */
export const ORIGINAL_VALUE_TWICE = 'give the value in the query string or as the POST body, not both';
