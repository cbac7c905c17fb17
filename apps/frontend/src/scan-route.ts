import type { Router } from 'express';
import { KEYSPACE_SCAN_DEFAULTS, encodeValue, isBucketItemKey, parseScanRequest, placeByOfKey } from '@fog/coordinator';
import { asyncHandler, op } from '@fog/http-kit';
import { FogError, formatVersion, partitionCount, type ScanItem, type ScanResponse } from '@fog/protocol';
import { level, type V1Context } from './v1-context';

/**
 * GET /v1/kv?prefix=&after=&limit=&keys=only: one page of the whole keyspace in key order,
 * every partition asked at the read level `r` (quorum by default) and merged. Without
 * keys=only each listed key is read as GET /v1/kv/{key} reads it, so the values and versions
 * are those a quorum read returns (a key deleted between the listing and the read is left out).
 */
export function mountScanRoute(router: Router, ctx: V1Context): void {
  router.get(['/kv', '/kv/'], op('kv_scan'), asyncHandler(async (req, res) => {
    const table = ctx.table();
    if (!table) throw new FogError('FOG_ERR_NO_TABLE');
    const scan = parseScanRequest(req.query as Record<string, unknown>, { keyBytesMax: ctx.limits.keyBytesMax }, partitionCount(table.digits));
    const r = level(ctx, req, 'r');
    const page = await ctx.coordinator.scanKeyspace({
      prefix: scan.prefix, after: scan.after, limit: scan.limit, r, partitions: scan.partition === null ? undefined : [scan.partition],
    });
    let listed = scan.withBucketItems ? page.items : page.items.filter((i) => !isBucketItemKey(i.key));
    let nextCursor = page.next;
    if (!scan.keysOnly) {
      // Values ride in the answer: stop the page before it holds more than requestBodyBytesMax
      // value bytes (by the sizes listed), always keeping one item so that paging moves on.
      let bytes = 0;
      let keep = 0;
      while (keep < listed.length && (keep === 0 || bytes + (listed[keep].size ?? 0) <= ctx.limits.requestBodyBytesMax)) bytes += listed[keep++].size ?? 0;
      if (keep < listed.length) {
        listed = listed.slice(0, keep);
        nextCursor = listed[keep - 1].key;
      }
    }
    let items: ScanItem[];
    if (scan.keysOnly) items = listed.map((i) => ({ key: i.key, version: formatVersion(i.ver), bytes: i.size ?? 0 }));
    else {
      const read: Array<ScanItem | null> = new Array(listed.length).fill(null);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < listed.length) {
          const i = next++;
          const key = listed[i].key;
          const got = await ctx.coordinator.read(key, r, { placeBy: placeByOfKey(key) });
          if (!got.entry || got.entry.value === null) continue;
          read[i] = {
            key, version: formatVersion(got.entry.ver), bytes: got.entry.value.length, ...encodeValue(got.entry.value, false),
            ...(got.entry.exp !== undefined ? { expiresAtMs: got.entry.exp } : {}),
          };
        }
      };
      await Promise.all(Array.from({ length: Math.min(KEYSPACE_SCAN_DEFAULTS.scanPartitionsInFlightMax, Math.max(1, listed.length)) }, worker));
      items = read.filter((i): i is ScanItem => i !== null);
    }
    const body: ScanResponse = { items, next: nextCursor };
    res.json(body);
  }));
}
