import type http from 'node:http';
import type { RequestHandler } from 'express';
import { FogError } from '@fog/protocol';
import { authError, type ClusterAuth } from './cluster-auth';

/**
 * The bytes of internal request bodies one node buffers at once. A body takes its share before
 * it is read (its Content-Length, or chunk by chunk when it has none) and gives it back when
 * its answer is sent, so the memory internal traffic can take is bounded however many requests
 * arrive together.
 */
export class InflightBytes {
  private used = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes > 0)) throw new Error('the in-flight byte limit must be positive');
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Take n bytes of the budget; false (and nothing taken) when that would exceed it. */
  tryTake(n: number): boolean {
    if (this.used + n > this.maxBytes) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export interface InternalBodyLimits {
  /** Largest single body, in bytes. */
  bodyBytesMax: number;
  /** Shared by every internal request of the node. */
  inflight: InflightBytes;
  /** Told why a body was refused (a counter with a reason label). */
  refused?: (reason: 'body_too_large' | 'inflight_limit') => void;
  /** When given, the request (method, path, body) must be signed with the cluster secret. */
  auth?: ClusterAuth;
}

/** Refuse (throw) a request that is not signed by the cluster; nothing when the node is insecure. */
export function authenticate(auth: ClusterAuth | undefined, req: http.IncomingMessage, body: Buffer): void {
  if (!auth) return;
  const problem = auth.check(req.method ?? 'GET', req.url ?? '/', req.headers, body);
  if (problem) throw authError(problem);
}

/**
 * Read a request body within the limits, refusing before it is buffered: a declared length
 * over the body limit, or one the in-flight budget cannot take, is refused without reading a
 * byte; a body without a declared length is counted chunk by chunk. A refused body is drained
 * (read and discarded, never stored) so that the sender receives the answer. The budget taken
 * is given back when the response closes.
 */
export function readInternalBody(req: http.IncomingMessage, res: http.ServerResponse, limits: InternalBodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let taken = 0;
    let done = false;
    res.once('close', () => {
      limits.inflight.give(taken);
      taken = 0;
    });
    const refuse = (reason: 'body_too_large' | 'inflight_limit') => {
      if (done) return;
      done = true;
      limits.inflight.give(taken);
      taken = 0;
      chunks.length = 0;
      limits.refused?.(reason);
      req.removeListener('data', onData);
      req.resume();
      reject(reason === 'body_too_large'
        ? new FogError('FOG_ERR_BODY_TOO_LARGE', `internal request bodies are at most ${limits.bodyBytesMax} bytes`, { limitBytes: limits.bodyBytesMax })
        : new FogError('FOG_ERR_INFLIGHT_LIMIT', undefined, { limitBytes: limits.inflight.maxBytes }));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    const declaredText = req.headers['content-length'];
    const declared = declaredText === undefined ? null : Number(declaredText);
    if (declared !== null) {
      if (!Number.isSafeInteger(declared) || declared > limits.bodyBytesMax) return refuse('body_too_large');
      if (!limits.inflight.tryTake(declared)) return refuse('inflight_limit');
      taken = declared;
    }
    function onData(c: Buffer) {
      if (done) return;
      size += c.length;
      if (size > limits.bodyBytesMax) return refuse('body_too_large');
      if (declared === null) {
        if (!limits.inflight.tryTake(c.length)) return refuse('inflight_limit');
        taken += c.length;
      }
      chunks.push(c);
    }
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.once('error', (err) => {
      if (done) return;
      done = true;
      reject(new FogError('FOG_ERR_BAD_REQUEST', `the body could not be read: ${err.message}`));
    });
  });
}

/** Parse an internal JSON body; an empty body is null. */
export function parseInternalJson(body: Buffer): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new FogError('FOG_ERR_BAD_REQUEST', 'the body is not valid JSON');
  }
}

/**
 * Express middleware for internal routes: reads the JSON body within the limits, checks the
 * request's signature when `limits.auth` is given, and sets req.body (any later express.json
 * sees the body consumed and steps aside). `req.originalUrl` is what was signed.
 */
export function internalJsonBody(limits: InternalBodyLimits): RequestHandler {
  return (req, res, next) => {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      try {
        if (limits.auth) authenticate(limits.auth, { method: req.method, url: req.originalUrl, headers: req.headers } as http.IncomingMessage, Buffer.alloc(0));
      } catch (err) {
        return next(err);
      }
      return next();
    }
    readInternalBody(req, res, limits).then(
      (buf) => {
        try {
          if (limits.auth) authenticate(limits.auth, { method: req.method, url: req.originalUrl, headers: req.headers } as http.IncomingMessage, buf);
          req.body = parseInternalJson(buf);
        } catch (err) {
          return next(err);
        }
        next();
      },
      (err: unknown) => {
        if (err instanceof FogError && err.status === 503) res.set('retry-after', '1');
        next(err);
      },
    );
  };
}
