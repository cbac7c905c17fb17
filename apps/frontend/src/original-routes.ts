import express, { type Request, type Response } from 'express';
import { ttlHeader, ttlParam } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import { FogError, HEADERS, checkKey, formatVersion, resolveConsistency } from '@fog/protocol';
import { ORIGINAL_VALUE_TWICE, originalErrorLine } from './original-errors';
import { redundancy, type V1Context } from './v1-context';

/**
 * The original API on Express: GET /get/?key=K, GET|POST /set/?key=K[&value=V]; 200 on
 * success, 501 for incorrect usage, 404 for a missing key. The hot path (hot-path.ts) answers
 * the usual forms of these requests itself; Express answers the rest (HEAD, odd encodings).
 */
export function mountOriginalRoutes(app: express.Express, ctx: V1Context): void {
  const raw = express.raw({ type: () => true, limit: ctx.limits.requestBodyBytesMax });
  app.get('/get', op('get'), asyncHandler((req, res) => textErrors(res, originalGet(ctx, req, res))));
  app.get('/set', op('set'), asyncHandler((req, res) => textErrors(res, originalSet(ctx, req, res, undefined))));
  // The original API answers every usage error with 501, an oversized body included.
  const rawOriginal: express.RequestHandler = (req, res, next) =>
    raw(req, res, (err?: unknown) => (err ? usage(res, 'FOG_ERR_VALUE_TOO_LARGE', `the body is larger than ${ctx.limits.requestBodyBytesMax} bytes`) : next()));
  app.post('/set', op('set'), rawOriginal, asyncHandler((req, res) => textErrors(res, originalSet(ctx, req, res, req.body as Buffer))));
}

/**
 * A FogError past the usage checks (no table, quorum not met, timeout) answered with its
 * status in the one-line text form; anything else goes on to the error middleware (500).
 */
async function textErrors(res: Response, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!(err instanceof FogError) || res.headersSent) throw err;
    res.locals.errorCode = err.code;
    res.status(err.status).type('text/plain').send(originalErrorLine(err));
  }
}

/** The original API answers usage errors with 501 and a one-line text body naming the code. */
function usage(res: Response, code: string, message: string): void {
  res.status(501).type('text/plain').send(`${code}: ${message}\n`);
}

function originalKey(ctx: V1Context, req: Request, res: Response): string | null {
  const key = req.query.key;
  if (Array.isArray(key)) {
    usage(res, 'FOG_ERR_BAD_REQUEST', 'give key once');
    return null;
  }
  const bad = checkKey(key, ctx.limits.keyBytesMax);
  if (bad) {
    usage(res, bad, new FogError(bad).message);
    return null;
  }
  return key as string;
}

async function originalGet(ctx: V1Context, req: Request, res: Response): Promise<void> {
  const key = originalKey(ctx, req, res);
  if (key === null) return;
  const r = resolveConsistency(undefined, redundancy(ctx));
  const result = await ctx.coordinator.read(key, r!);
  if (!result.entry || result.entry.value === null) {
    res.status(404).type('text/plain').send('FOG_ERR_NOT_FOUND: no such key\n');
    return;
  }
  const ttl = ttlHeader(result.entry, Date.now());
  if (ttl !== null) res.set(HEADERS.ttlMs, ttl);
  res.set(HEADERS.version, formatVersion(result.entry.ver)).type('application/octet-stream').send(result.entry.value);
}

async function originalSet(ctx: V1Context, req: Request, res: Response, body: Buffer | undefined): Promise<void> {
  const key = originalKey(ctx, req, res);
  if (key === null) return;
  const q = req.query.value;
  let value: Buffer;
  if (typeof q === 'string') {
    if (Buffer.isBuffer(body) && body.length > 0) return usage(res, 'FOG_ERR_BAD_REQUEST', ORIGINAL_VALUE_TWICE);
    value = Buffer.from(q, 'utf8');
  }
  else if (q !== undefined) return usage(res, 'FOG_ERR_BAD_REQUEST', 'give value once');
  else if (body !== undefined && Buffer.isBuffer(body)) value = body;
  else return usage(res, 'FOG_ERR_VALUE_MISSING', 'give value=V in the query string or POST the value as the body');
  if (value.length > ctx.limits.valueBytesMax) return usage(res, 'FOG_ERR_VALUE_TOO_LARGE', `values are at most ${ctx.limits.valueBytesMax} bytes`);
  let ttlMs: number | null;
  try {
    ttlMs = ttlParam(req.query.ttl);
  } catch (err) {
    return usage(res, 'FOG_ERR_BAD_TTL', (err as Error).message);
  }
  const w = resolveConsistency(undefined, redundancy(ctx));
  const result = await ctx.coordinator.write(key, value, w!, {}, ttlMs);
  res.set(HEADERS.version, formatVersion(result.ver)).type('text/plain').send('OK\n');
  ctx.watches?.poke(key);
}
