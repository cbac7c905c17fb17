import { isErrorCode, type ErrorCode } from '@fog/protocol';

/**
 * Codes the client itself raises, beside the server's FOG_ERR_* codes:
 * UNREACHABLE: no frontend could be reached; TIMEOUT: the request got no answer in time (it may
 * have been applied); BAD_RESPONSE: an answer that is not the API's.
 */
export type ClientErrorCode = 'FOG_CLIENT_UNREACHABLE' | 'FOG_CLIENT_TIMEOUT' | 'FOG_CLIENT_BAD_RESPONSE';

/** Every failure of a client call: the server's registered code and status, or a client code. */
export class FogClientError extends Error {
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** HTTP status of the server's answer; undefined for client codes. */
    readonly status?: number,
    readonly details?: Record<string, unknown>,
    /** The frontend that answered (or was last tried). */
    readonly frontend?: string,
  ) {
    super(message);
    this.name = 'FogClientError';
  }

  /** True for a server answer with this code. */
  is(code: ErrorCode | ClientErrorCode): boolean {
    return this.code === code;
  }
}

/** The error an error body describes, or BAD_RESPONSE when the body is not one. */
export function errorFromBody(status: number, body: Buffer, frontend: string): FogClientError {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown; details?: Record<string, unknown> } };
    const e = parsed.error;
    if (e && isErrorCode(e.code)) return new FogClientError(e.code, String(e.message ?? e.code), status, e.details, frontend);
  } catch {
    // fall through
  }
  return new FogClientError('FOG_CLIENT_BAD_RESPONSE', `${frontend} answered ${status} without an error body`, status, undefined, frontend);
}
