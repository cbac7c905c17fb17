import express, { type Router } from 'express';
import { formatBatchResults, parseBatchRequest, runBatch } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import type { BatchResponse } from '@fog/protocol';
import { level, type V1Context } from './v1-context';

/** POST /v1/batch: many gets, puts and deletes, one result each, in order. */
export function mountBatchRoute(router: Router, ctx: V1Context): void {
  const json = express.json({ type: () => true, limit: ctx.limits.requestBodyBytesMax });
  router.post('/batch', op('batch'), json, asyncHandler(async (req, res) => {
    // Everything is checked before anything is sent: a bad op refuses the whole batch.
    const r = level(ctx, req, 'r');
    const w = level(ctx, req, 'w');
    const { ops, base64 } = parseBatchRequest(req.body, ctx.limits);
    const outcomes = await runBatch(ctx.coordinator, ops, r, w);
    const body: BatchResponse = { results: formatBatchResults(outcomes, base64) };
    res.json(body);
  }));
}
