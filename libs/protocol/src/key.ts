import type { ErrorCode } from './errors';

// Control characters (C0, DEL) would break logs, headers and line-based tools; everything
// else that is valid UTF-8 is a key.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** The error code for a key that may not be stored, or null for a good key. */
export function checkKey(key: unknown, keyBytesMax: number): ErrorCode | null {
  if (typeof key !== 'string' || key.length === 0) return 'FOG_ERR_KEY_MISSING';
  if (Buffer.byteLength(key, 'utf8') > keyBytesMax) return 'FOG_ERR_KEY_TOO_LONG';
  if (CONTROL_RE.test(key)) return 'FOG_ERR_KEY_INVALID';
  // A lone surrogate cannot round-trip through UTF-8: the stored key would differ.
  if (!key.isWellFormed()) return 'FOG_ERR_KEY_INVALID';
  return null;
}
