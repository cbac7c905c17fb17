/**
 * The one registry of error codes. Each code has an HTTP status and a message template;
 * docs/errors.md lists every code and a test keeps the two in step.
 */
export const ERRORS = {
  FOG_ERR_KEY_MISSING: { status: 400, message: 'a key is required' },
  FOG_ERR_KEY_TOO_LONG: { status: 400, message: 'the key is longer than the key limit' },
  FOG_ERR_KEY_INVALID: { status: 400, message: 'the key contains characters that are not allowed' },
  FOG_ERR_VALUE_MISSING: { status: 400, message: 'a value is required' },
  FOG_ERR_VALUE_TOO_LARGE: { status: 413, message: 'the value is larger than the value limit' },
  FOG_ERR_BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than the body limit' },
  FOG_ERR_BAD_REQUEST: { status: 400, message: 'the request is malformed' },
  FOG_ERR_BAD_TTL: { status: 400, message: 'the ttl is not a whole number with a unit (ms, s, m, h, d) within the ttl limits' },
  FOG_ERR_UNKNOWN_FIELD: { status: 400, message: 'the request carries a field this API does not know' },
  FOG_ERR_BAD_CONSISTENCY: { status: 400, message: 'the consistency level is not one of 1..K, one, quorum, all' },
  FOG_ERR_BATCH_TOO_LARGE: { status: 413, message: 'the batch has more operations than the batch limit' },
  FOG_ERR_NOT_FOUND: { status: 404, message: 'no such key' },
  FOG_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  FOG_ERR_NODE_NOT_FOUND: { status: 404, message: 'no such node' },
  FOG_ERR_VERSION_CONFLICT: { status: 409, message: 'the stored version does not match the expected version' },
  FOG_ERR_QUORUM_NOT_MET: { status: 503, message: 'too few replicas answered to meet the requested consistency' },
  FOG_ERR_RECEIPT_NOT_MET: { status: 503, message: 'no replica holds the version named by x-fog-after (or a newer one) yet; retry, or read with a higher r' },
  FOG_ERR_WRITE_CONTENDED: { status: 503, message: 'the write kept losing last-writer-wins to concurrent writes; retry' },
  FOG_ERR_OUTCOME_UNKNOWN: { status: 503, message: 'the conditional write or append may or may not have been applied; read the key before retrying' },
  FOG_ERR_TOO_MANY_WATCHES: { status: 429, message: 'this frontend holds as many open watches as its watch limit allows; retry later or on another frontend' },
  FOG_ERR_NO_TABLE: { status: 503, message: 'no partition table yet: the cluster has not formed' },
  FOG_ERR_OVERLOADED: { status: 503, message: 'too many operations are queued for a storage node' },
  FOG_ERR_TIMEOUT: { status: 504, message: 'the operation did not complete in time' },
  FOG_ERR_WRONG_NODE: { status: 421, message: 'this node does not hold that partition in its table' },
  FOG_ERR_BAD_TABLE: { status: 400, message: 'the partition table is malformed or does not fit this node (partition count, redundancy, replicas, nodes)' },
  FOG_ERR_VERSION_AHEAD: { status: 400, message: 'a version is stamped further ahead of this node\'s clock than the forward-jump limit allows' },
  FOG_ERR_INFLIGHT_LIMIT: { status: 503, message: 'this node is already buffering as many internal request bytes as its in-flight limit allows; retry' },
  FOG_ERR_NOT_READY: { status: 503, message: 'the node is alive but cannot serve yet' },
  FOG_ERR_NODE_NOT_REMOVABLE: { status: 409, message: 'only a left node, or an out node the table no longer names, can be forgotten' },
  FOG_ERR_STALE_EPOCH: { status: 409, message: 'the table sent is older than the one held' },
  FOG_ERR_TABLE_BASE_MISMATCH: { status: 409, message: 'the table change starts from an epoch this node does not hold; send the full table' },
  FOG_ERR_TABLE_CHECKSUM: { status: 400, message: 'the table, once the change is applied, does not match its checksum' },
  FOG_ERR_CLUSTER_MISMATCH: { status: 409, message: 'the node does not fit the cluster (duplicate id or address)' },
  FOG_ERR_COPY_INCOMPLETE: { status: 409, message: 'the partition copy did not take data from every active replica of the partition' },
  FOG_ERR_INSUFFICIENT_STORAGE: { status: 507, message: 'the storage node cannot write to disk (disk full or failing); reads still work' },
  FOG_ERR_MEMORY_LIMIT: { status: 507, message: 'the storage node holds as many bytes as its memory limit allows' },
  FOG_ERR_UNAUTHENTICATED: { status: 401, message: 'this route needs a request signed with the cluster secret' },
  FOG_ERR_WRONG_CLUSTER: { status: 403, message: 'the request or table comes from another cluster' },
  FOG_ERR_AUTH_BUSY: { status: 503, message: 'too many signed requests within the replay window; retry' },
  FOG_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** An error with a registered code: the apps turn it into an HTTP answer. */
export class FogError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERRORS[code].message);
    this.name = 'FogError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}
