import type { Request, Router } from 'express';
import { bucketItemKey, bucketPrefix, itemOfKey } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import { FogError, checkKey, formatVersion, type BucketListResponse } from '@fog/protocol';
import { appendValue, readValue, writeValue, type Target } from './kv-routes';
import { bodyBytes, keyParam, level, valueBody, type V1Context } from './v1-context';

/**
 * Buckets: every item of a bucket lives in the bucket's partition (placed by the bucket name),
 * under an internal key no plain key can equal, so one replica set can list the bucket.
 */
export function mountBucketRoutes(router: Router, ctx: V1Context): void {
  const { keyBytesMax } = ctx.limits;
  const target = (req: Request): Target => {
    const bucket = keyParam(req, 'bucket', keyBytesMax);
    const item = keyParam(req, 'item', keyBytesMax);
    const key = bucketItemKey(bucket, item);
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > keyBytesMax) {
      throw new FogError('FOG_ERR_KEY_TOO_LONG', `bucket and item together take ${bytes} bytes with their separator; at most ${keyBytesMax} are allowed`, { keyBytesMax });
    }
    return { key, name: item, place: { placeBy: bucket } };
  };
  const value = valueBody(ctx.limits.valueBytesMax);
  router.get('/buckets/:bucket/items/:item', op('bucket_get'), asyncHandler((req, res) => readValue(ctx, req, res, target(req))));
  router.put('/buckets/:bucket/items/:item', op('bucket_put'), value, asyncHandler((req, res) => writeValue(ctx, req, res, target(req), bodyBytes(req))));
  router.delete('/buckets/:bucket/items/:item', op('bucket_delete'), asyncHandler((req, res) => writeValue(ctx, req, res, target(req), null)));
  router.post('/buckets/:bucket/items/:item/append', op('bucket_append'), value, asyncHandler((req, res) => appendValue(ctx, req, res, target(req))));

  router.get('/buckets/:bucket', op('bucket_list'), asyncHandler(async (req, res) => {
    const bucket = keyParam(req, 'bucket', keyBytesMax);
    const { listItemsMax, listItemsDefault } = ctx.limits;
    const limitText = req.query.limit;
    if (limitText !== undefined && (typeof limitText !== 'string' || !/^\d{1,7}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > listItemsMax)) {
      throw new FogError('FOG_ERR_BAD_REQUEST', `limit must be an integer from 1 to ${listItemsMax}`, { listItemsMax });
    }
    const limit = limitText === undefined ? listItemsDefault : Number(limitText);
    const after = req.query.after;
    if (after !== undefined && (typeof after !== 'string' || checkKey(after, keyBytesMax) !== null)) {
      throw new FogError('FOG_ERR_BAD_REQUEST', 'after must be an item name (the next cursor of the previous page)');
    }
    const r = level(ctx, req, 'r');
    const page = await ctx.coordinator.scan(bucket, bucketPrefix(bucket), after === undefined ? null : bucketItemKey(bucket, after), limit, r);
    const body: BucketListResponse = {
      bucket,
      partition: page.partition,
      items: page.items.map((i) => ({ item: itemOfKey(bucket, i.key), version: formatVersion(i.ver), bytes: i.size ?? 0 })),
      next: page.next === null ? null : itemOfKey(bucket, page.next),
    };
    res.json(body);
  }));
}
