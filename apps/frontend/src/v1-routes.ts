import express from 'express';
import { mountBatchRoute } from './batch-route';
import { mountBucketRoutes } from './bucket-routes';
import { mountKvRoutes } from './kv-routes';
import { mountLocateRoute } from './locate-route';
import { mountRestoreRoute } from './restore-route';
import { mountScanRoute } from './scan-route';
import type { V1Context } from './v1-context';

/** The v1 REST API (docs/api.md), mounted at /v1. Undecodable path segments are answered by the error middleware (FOG_ERR_KEY_INVALID). */
export function v1Router(ctx: V1Context): express.Router {
  const router = express.Router();
  mountScanRoute(router, ctx);
  mountKvRoutes(router, ctx);
  mountBatchRoute(router, ctx);
  mountBucketRoutes(router, ctx);
  mountLocateRoute(router, ctx);
  mountRestoreRoute(router, ctx);
  return router;
}
