/**
 * The one-hop anchors the stack is measured against: a Map behind bare node:http and a Map
 * behind Express, answering the original API's GET /get/?key=K and GET|POST /set/?key=K[&value=V]
 * (200, 404 for a missing key, 501 for incorrect usage). Written as one would write them for
 * production, neither crippled nor tuned beyond reason.
 */
import express from 'express';
import http from 'node:http';
import querystring from 'node:querystring';

const BODY_BYTES_MAX = 1024 * 1024;
const TEXT = { 'content-type': 'text/plain' } as const;
const OCTETS = { 'content-type': 'application/octet-stream' } as const;

export function bareAnchor(): http.Server {
  const map = new Map<string, Buffer>();
  return http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = querystring.parse(q < 0 ? '' : url.slice(q + 1));
    const key = query.key;
    if (typeof key !== 'string' || key === '') {
      req.resume();
      res.writeHead(501, TEXT).end('usage\n');
      return;
    }
    if ((path === '/get/' || path === '/get') && req.method === 'GET') {
      const v = map.get(key);
      if (v === undefined) res.writeHead(404, TEXT).end('not found\n');
      else res.writeHead(200, OCTETS).end(v);
      return;
    }
    if (path === '/set/' || path === '/set') {
      if (typeof query.value === 'string') {
        req.resume();
        map.set(key, Buffer.from(query.value));
        res.writeHead(200, TEXT).end('OK\n');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= BODY_BYTES_MAX) chunks.push(c);
      });
      req.on('end', () => {
        if (size > BODY_BYTES_MAX) res.writeHead(413, TEXT).end('too large\n');
        else {
          map.set(key, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
          res.writeHead(200, TEXT).end('OK\n');
        }
      });
      return;
    }
    req.resume();
    res.writeHead(404, TEXT).end('no such route\n');
  });
}

export function expressAnchor(): http.Server {
  const map = new Map<string, Buffer>();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const keyOf = (req: express.Request): string | null => (typeof req.query.key === 'string' && req.query.key !== '' ? req.query.key : null);
  app.get('/get', (req, res) => {
    const key = keyOf(req);
    if (key === null) return void res.status(501).type('text/plain').send('usage\n');
    const v = map.get(key);
    if (v === undefined) return void res.status(404).type('text/plain').send('not found\n');
    res.type('application/octet-stream').send(v);
  });
  const set: express.RequestHandler = (req, res) => {
    const key = keyOf(req);
    if (key === null) return void res.status(501).type('text/plain').send('usage\n');
    const value = typeof req.query.value === 'string' ? Buffer.from(req.query.value) : Buffer.isBuffer(req.body) ? (req.body as Buffer) : null;
    if (value === null) return void res.status(501).type('text/plain').send('usage\n');
    map.set(key, value);
    res.type('text/plain').send('OK\n');
  };
  app.get('/set', set);
  app.post('/set', express.raw({ type: () => true, limit: BODY_BYTES_MAX }), set);
  return http.createServer({ keepAliveTimeout: 65_000 }, app);
}

/** Entry for `main.js --serve-anchor bare|express --port N`: prints "listening PORT" when ready. */
export function serveAnchor(kind: string, port: number): void {
  const server = kind === 'bare' ? bareAnchor() : kind === 'express' ? expressAnchor() : null;
  if (!server) throw new Error(`unknown anchor ${kind}`);
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
