import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { FogError, isErrorCode } from '@fog/protocol';
import type { HttpMetrics } from './metrics';
import type { Logger } from './logger';

/** Name the operation a route serves; the metrics middleware labels requests with it. */
export function op(name: string): RequestHandler {
  return (req, res, next) => {
    res.locals.op = name;
    // Remembered here, inside the route, where the router's mount path is still known.
    const route = (req as Request & { route?: { path?: unknown } }).route;
    if (route && typeof route.path === 'string') res.locals.route = `${req.baseUrl ?? ''}${route.path}`;
    next();
  };
}

/** Count and time every request by `res.locals.op` (or `other`) and status code. */
export function metricsMiddleware(metrics: HttpMetrics): RequestHandler {
  return (_req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const op = (res.locals.op as string | undefined) ?? 'other';
      const labels = { op, status: String(res.statusCode) };
      metrics.requests.inc(labels);
      metrics.latency.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
      const code = res.locals.errorCode as string | undefined;
      if (code) metrics.errors.inc({ op, code });
    });
    next();
  };
}

/** Wrap an async handler so that a rejection reaches the error middleware. */
export function asyncHandler(fn: (req: Request, res: Response, next: NextFunction) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    fn(req, res, next).catch(next);
  };
}

export function sendError(res: Response, err: FogError): void {
  if (res.headersSent) return;
  res.locals.errorCode = err.code;
  res.status(err.status).json(err.toBody());
}

/**
 * The route pattern that served a request (`/v1/kv/:key`), for logs: the path itself may hold
 * a key, and keys never appear in logs.
 */
export function routePattern(req: Request, res?: Response): string {
  if (typeof res?.locals.route === 'string') return res.locals.route;
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl ?? ''}${route.path}`;
  return '(no route)';
}

/**
 * The last middleware: turns FogErrors into their registered status and JSON body, body-parser
 * failures into 400/413, and anything else into a logged 500. A bad request never crashes.
 */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let fog: FogError;
    if (err instanceof FogError) fog = err;
    else if (isBodyParserError(err)) {
      fog = err.type === 'entity.too.large'
        ? new FogError('FOG_ERR_BODY_TOO_LARGE', undefined, { limitBytes: err.limit })
        : new FogError('FOG_ERR_BAD_REQUEST', err.type === 'entity.parse.failed' ? 'the body is not valid JSON' : 'the body could not be read');
    } else if (isClientHttpError(err)) {
      // Express's own 4xx errors (a path segment that is not valid percent-encoded UTF-8, ...).
      fog = /decode param/.test(err.message)
        ? new FogError('FOG_ERR_KEY_INVALID', 'a path segment is not valid percent-encoded UTF-8')
        : new FogError('FOG_ERR_BAD_REQUEST', err.message);
    } else {
      const e = err as Error;
      log.error('request failed', { method: req.method, route: routePattern(req, res), error: e?.message ?? String(err) });
      fog = new FogError('FOG_ERR_INTERNAL');
    }
    if (fog.status >= 500 && fog.code !== 'FOG_ERR_INTERNAL') log.warn('request refused', { method: req.method, route: routePattern(req, res), code: fog.code });
    if (res.headersSent) {
      // Part of an answer already left: no error body can follow it. Close the connection so
      // that the client sees a broken answer rather than waiting for the rest.
      res.locals.errorCode = fog.code;
      req.socket.destroy();
      return;
    }
    sendError(res, fog);
  };
}

function isClientHttpError(err: unknown): err is { status: number; message: string } {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function isBodyParserError(err: unknown): err is { type: string; limit?: number; status: number } {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string' && typeof (err as { status?: unknown }).status === 'number';
}

export function notFoundHandler(): RequestHandler {
  return (_req, res) => sendError(res, new FogError('FOG_ERR_ROUTE_NOT_FOUND'));
}

/**
 * `/metrics`, `/health` (the process is alive: always 200 while it answers) and `/ready` (it
 * can serve: 200, or 503 FOG_ERR_NOT_READY naming every reason it cannot) on every app.
 */
export function mountStandardRoutes(
  app: Express,
  metrics: HttpMetrics,
  health: () => Record<string, unknown>,
  notReadyReasons: () => string[] = () => [],
): void {
  app.get('/metrics', op('metrics'), asyncHandler(async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  }));
  app.get('/health', op('health'), (_req, res) => {
    res.json({ status: 'ok', ...health() });
  });
  app.get('/ready', op('ready'), (_req, res) => {
    const reasons = notReadyReasons();
    if (reasons.length) throw new FogError('FOG_ERR_NOT_READY', `not ready: ${reasons.join(', ')}`, { reasons });
    res.json({ status: 'ready', ...health() });
  });
}

export { isErrorCode };
