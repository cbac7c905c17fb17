import express, { type Router } from 'express';
import { KEYSPACE_SCAN_DEFAULTS, parseRestoreRequest } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import { FogError, partitionCount, type RestoreResponse, type RestoreResultItem, type TopologyResponse } from '@fog/protocol';
import { level, type V1Context } from './v1-context';

/**
 * POST /v1/restore: entries of a backup written back with the versions they had, so that a
 * write made since (a newer version) wins. Checked whole first (as a batch is); then each
 * entry goes to every replica of its partition, at most scanPartitionsInFlightMax at once.
 */
export function mountRestoreRoute(router: Router, ctx: V1Context): void {
  const json = express.json({ type: () => true, limit: ctx.limits.requestBodyBytesMax });
  router.post('/restore', op('restore'), json, asyncHandler(async (req, res) => {
    const w = level(ctx, req, 'w');
    const entries = parseRestoreRequest(req.body, ctx.limits, Date.now());
    const results: RestoreResultItem[] = new Array(entries.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const i = next++;
        const e = entries[i];
        try {
          const r = await ctx.coordinator.restore(e.key, e.ver, e.value, w, e.placeBy === undefined ? {} : { placeBy: e.placeBy }, e.exp);
          results[i] = { key: e.key, status: 200, outcome: r.outcome };
        } catch (err) {
          const fog = err instanceof FogError ? err : new FogError('FOG_ERR_INTERNAL');
          results[i] = { key: e.key, status: fog.status, error: fog.toBody().error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(KEYSPACE_SCAN_DEFAULTS.scanPartitionsInFlightMax, entries.length)) }, worker));
    const body: RestoreResponse = { results };
    res.json(body);
  }));

  // What a tool that goes partition by partition (a backup) needs to know of the table.
  router.get('/topology', op('topology'), asyncHandler(async (_req, res) => {
    const t = ctx.table();
    if (!t) throw new FogError('FOG_ERR_NO_TABLE');
    const body: TopologyResponse = { epoch: t.epoch, digits: t.digits, partitions: partitionCount(t.digits), redundancy: t.redundancy };
    if (ctx.frontends) body.frontends = await ctx.frontends();
    res.json(body);
  }));
}

