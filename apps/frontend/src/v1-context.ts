import express, { type Request, type RequestHandler } from 'express';
import type { Coordinator } from '@fog/coordinator';
import type { Watches } from './watches';
import { FogError, checkKey, resolveConsistency, type Limits, type PartitionTable, type WeightBasis } from '@fog/protocol';

/** What the v1 routes need from the frontend node. */
export interface V1Context {
  coordinator: Coordinator;
  limits: Limits;
  table: () => PartitionTable | null;
  /** Watches (?watch=) and the writes that wake them; absent: watching is not offered. */
  watches?: Watches;
  /** The frontends of the cluster (from the controller, cached), for clients that discover them. */
  frontends?: () => Promise<string[]>;
  /** Per storage node, how its weight was derived from capacity (from the controller, cached). */
  weightBases?: () => Promise<ReadonlyMap<string, WeightBasis>>;
}

export function redundancy(ctx: V1Context): number {
  const t = ctx.table();
  if (!t) throw new FogError('FOG_ERR_NO_TABLE');
  return t.redundancy;
}

/** A key from a path parameter (already percent-decoded), checked against the key rules. */
export function keyParam(req: Request, name: string, keyBytesMax: number): string {
  const key = req.params[name] as string | undefined;
  const bad = checkKey(key, keyBytesMax);
  if (bad) throw new FogError(bad, `${name}: ${new FogError(bad).message}`, { keyBytesMax });
  return key!;
}

/** The replicas `r` or `w` asks for, from the query string (default quorum). */
export function level(ctx: V1Context, req: Request, name: 'r' | 'w'): number {
  const text = req.query[name];
  const k = redundancy(ctx);
  if (text !== undefined && typeof text !== 'string') throw new FogError('FOG_ERR_BAD_CONSISTENCY', `give ${name} once`);
  const n = resolveConsistency(text, k);
  if (n === null) throw new FogError('FOG_ERR_BAD_CONSISTENCY', `${name}=${text} is not one of 1..${k}, one, quorum, all`, { redundancy: k });
  return n;
}

/** A header given at most once (Express joins repeated ones with commas, which the parsers accept). */
export function header(req: Request, name: string): string | undefined {
  const v = req.get(name);
  return v === undefined ? undefined : v;
}

/**
 * The raw body as the value, refused with FOG_ERR_VALUE_TOO_LARGE beyond valueBytesMax: a
 * declared Content-Length over the limit is refused before the body is read.
 */
export function valueBody(valueBytesMax: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit: valueBytesMax });
  return (req, res, next) => {
    raw(req, res, (err?: unknown) => {
      if (err && (err as { type?: string }).type === 'entity.too.large') {
        next(new FogError('FOG_ERR_VALUE_TOO_LARGE', `values are at most ${valueBytesMax} bytes`, { valueBytesMax }));
      } else next(err);
    });
  };
}

/** The body a value route received (empty when none was sent). */
export function bodyBytes(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? (req.body as Buffer) : Buffer.alloc(0);
}
