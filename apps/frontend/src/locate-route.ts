import type { Router } from 'express';
import { locate } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import { FogError, type LocateResponse, type WeightBasis } from '@fog/protocol';
import { keyParam, type V1Context } from './v1-context';

/** GET /v1/locate/{key}: the partition, the epoch and the replicas of a key, with why each is there. */
export function mountLocateRoute(router: Router, ctx: V1Context): void {
  router.get('/locate/:key', op('locate'), asyncHandler(async (req, res) => {
    const key = keyParam(req, 'key', ctx.limits.keyBytesMax);
    const table = ctx.table();
    if (!table) throw new FogError('FOG_ERR_NO_TABLE');
    // How each node's weight was derived is known to the controller, not the table.
    const bases = ctx.weightBases ? await ctx.weightBases() : new Map<string, WeightBasis>();
    const body: LocateResponse = locate(table, key, key, bases);
    res.json(body);
  }));
}
