import type { Request, Response, Router } from 'express';
import { afterParam, appendIf, parsePreconditions, replaceIf, ttlHeader, ttlParam, type KeyPlacement } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import { FogError, HEADERS, formatVersion, type Version, type WriteResponse } from '@fog/protocol';
import { bodyBytes, header, keyParam, level, valueBody, type V1Context } from './v1-context';

/** A key and where it is placed: plain keys by themselves, bucket items by their bucket. */
export interface Target {
  key: string;
  /** The name a client used (the key, or the bucket item). */
  name: string;
  place: KeyPlacement;
}

function versionHeaders(res: Response, ver: Version, partition: number): string {
  const v = formatVersion(ver);
  res.set(HEADERS.version, v).set('ETag', `"${v}"`).set(HEADERS.partition, partition.toString(16));
  return v;
}

export async function readValue(ctx: V1Context, req: Request, res: Response, t: Target): Promise<void> {
  const r = level(ctx, req, 'r');
  const after = afterParam(header(req, HEADERS.after), req.query.after);
  const result = await ctx.coordinator.read(t.key, r, t.place, undefined, after);
  res.set(HEADERS.partition, result.partition.toString(16));
  if (!result.entry || result.entry.value === null) throw new FogError('FOG_ERR_NOT_FOUND');
  versionHeaders(res, result.entry.ver, result.partition);
  const ttl = ttlHeader(result.entry, Date.now());
  if (ttl !== null) res.set(HEADERS.ttlMs, ttl);
  res.set(HEADERS.replicasAcked, String(result.answered)).type('application/octet-stream').send(result.entry.value);
}

/** PUT (value) or DELETE (null), conditional when If-Match or If-None-Match is given. */
export async function writeValue(ctx: V1Context, req: Request, res: Response, t: Target, value: Buffer | null): Promise<void> {
  const w = level(ctx, req, 'w');
  const ttlMs = ttlParam(req.query.ttl, value === null);
  const pre = parsePreconditions(header(req, 'if-match'), header(req, 'if-none-match'));
  let ver: Version;
  let partition: number;
  let acks: number;
  let exp: number | undefined;
  if (pre.kind === 'none') {
    ({ ver, partition, acks, exp } = await ctx.coordinator.write(t.key, value, w, t.place, ttlMs));
  } else {
    const r = await ctx.coordinator.conditionalWrite(t.key, replaceIf(pre, value), w, t.place, ttlMs);
    ({ ver, exp } = r.entry);
    ({ partition, acks } = r);
  }
  const version = versionHeaders(res, ver, partition);
  const body: WriteResponse = { key: t.name, version, partition, ...(value === null ? { deleted: true } : {}), ...(exp !== undefined ? { expiresAtMs: exp } : {}) };
  res.set(HEADERS.replicasAcked, String(acks)).json(body);
}

export async function appendValue(ctx: V1Context, req: Request, res: Response, t: Target): Promise<void> {
  const w = level(ctx, req, 'w');
  const ttlMs = ttlParam(req.query.ttl);
  const pre = parsePreconditions(header(req, 'if-match'), header(req, 'if-none-match'));
  const r = await ctx.coordinator.conditionalWrite(t.key, appendIf(pre, bodyBytes(req), ctx.limits.valueBytesMax), w, t.place, ttlMs);
  const version = versionHeaders(res, r.entry.ver, r.partition);
  const body: WriteResponse = { key: t.name, version, partition: r.partition, bytes: r.entry.value?.length ?? 0 };
  res.set(HEADERS.replicasAcked, String(r.acks)).json(body);
}

/** GET|PUT|DELETE /v1/kv/{key} and POST /v1/kv/{key}/append. */
export function mountKvRoutes(router: Router, ctx: V1Context): void {
  const target = (req: Request): Target => {
    const key = keyParam(req, 'key', ctx.limits.keyBytesMax);
    return { key, name: key, place: {} };
  };
  const value = valueBody(ctx.limits.valueBytesMax);
  router.get('/kv/:key', op('kv_get'), asyncHandler((req, res) => {
    if (req.query.watch !== undefined && ctx.watches) {
      res.locals.op = 'kv_watch';
      return ctx.watches.handle(req, res, target(req).key);
    }
    return readValue(ctx, req, res, target(req));
  }));
  router.put('/kv/:key', op('kv_put'), value, asyncHandler(async (req, res) => {
    const t = target(req);
    await writeValue(ctx, req, res, t, bodyBytes(req));
    ctx.watches?.poke(t.key);
  }));
  router.delete('/kv/:key', op('kv_delete'), asyncHandler(async (req, res) => {
    const t = target(req);
    await writeValue(ctx, req, res, t, null);
    ctx.watches?.poke(t.key);
  }));
  router.post('/kv/:key/append', op('kv_append'), value, asyncHandler(async (req, res) => {
    const t = target(req);
    await appendValue(ctx, req, res, t);
    ctx.watches?.poke(t.key);
  }));
  // An empty key has no path segment: say so rather than "no such route" (GET lists, see scan-route.ts).
  router.all(['/kv', '/kv/'], op('kv_get'), () => {
    throw new FogError('FOG_ERR_KEY_MISSING', 'the key is the path segment after /v1/kv/');
  });
}
