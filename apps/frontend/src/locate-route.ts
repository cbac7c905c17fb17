import type { Router } from 'express';
import { locate } from '@fog/coordinator';
import { op } from '@fog/http-kit';
import { FogError, type LocateResponse } from '@fog/protocol';
import { keyParam, type V1Context } from './v1-context';

/** GET /v1/locate/{key}: the partition, the epoch and the replicas of a key, with why each is there. */
export function mountLocateRoute(router: Router, ctx: V1Context): void {
  router.get('/locate/:key', op('locate'), (req, res) => {
    const key = keyParam(req, 'key', ctx.limits.keyBytesMax);
    const table = ctx.table();
    if (!table) throw new FogError('FOG_ERR_NO_TABLE');
    const body: LocateResponse = locate(table, key);
    res.json(body);
  });
}
