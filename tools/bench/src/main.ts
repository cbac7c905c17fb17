/**
 * Load generator for a running cluster: keeps N requests in flight against the frontends over
 * keep-alive connections for a fixed time and prints throughput and latency percentiles.
 * Speed is judged here, by figures, never by a test that passes or fails on a busy machine.
 *
 *   node dist/tools/bench/main.js --frontend 127.0.0.1:8001 --frontend 127.0.0.1:8002 \
 *        --op set --concurrency 32 --duration-ms 10000 --value-bytes 100
 */
import http from 'node:http';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

/** Hard ceilings so a mistyped flag cannot turn a benchmark into a flood. */
const CONCURRENCY_MAX = 1024;
const DURATION_MS_MAX = 600_000;
const KEYS_MAX = 10_000_000;

const args = yargs(hideBin(process.argv))
  .scriptName('fog-bench')
  .option('frontend', { type: 'string', array: true, default: ['127.0.0.1:8001'], describe: 'frontend host:port (repeat for several)' })
  .option('op', { choices: ['set', 'get', 'mixed'] as const, default: 'mixed' as const, describe: 'set, get, or 50/50 mixed (v1 PUT/GET)' })
  .option('concurrency', { type: 'number', default: 32, describe: `requests in flight (max ${CONCURRENCY_MAX})` })
  .option('duration-ms', { type: 'number', default: 10_000, describe: `how long to run (max ${DURATION_MS_MAX})` })
  .option('value-bytes', { type: 'number', default: 100, describe: 'value size for writes' })
  .option('keys', { type: 'number', default: 10_000, describe: 'distinct keys' })
  .strict()
  .help()
  .version(false)
  .parseSync();

const concurrency = Math.min(Math.max(1, Math.floor(args.concurrency)), CONCURRENCY_MAX);
const durationMs = Math.min(Math.max(100, Math.floor(args['duration-ms'])), DURATION_MS_MAX);
const keys = Math.min(Math.max(1, Math.floor(args.keys)), KEYS_MAX);
const frontends = args.frontend.map((f) => {
  const [host, port] = f.split(':');
  if (!host || !Number(port)) throw new Error(`bad --frontend ${f}`);
  return { host, port: Number(port) };
});
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const value = Buffer.alloc(Math.max(0, Math.floor(args['value-bytes'])), 'x');

const latenciesUs: number[] = [];
const statuses = new Map<string, number>();
let next = 0;

function request(): Promise<void> {
  const i = next++;
  const fe = frontends[i % frontends.length];
  const key = `bench-${i % keys}`;
  const write = args.op === 'set' || (args.op === 'mixed' && i % 2 === 0);
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = http.request(
      { host: fe.host, port: fe.port, agent, method: write ? 'PUT' : 'GET', path: `/v1/kv/${key}`, headers: write ? { 'content-length': value.length } : {} },
      (res) => {
        res.resume();
        res.on('end', () => {
          latenciesUs.push(Number(process.hrtime.bigint() - started) / 1000);
          const s = String(res.statusCode);
          statuses.set(s, (statuses.get(s) ?? 0) + 1);
          resolve();
        });
      },
    );
    req.on('error', (err) => {
      statuses.set(err.message, (statuses.get(err.message) ?? 0) + 1);
      resolve();
    });
    req.end(write ? value : undefined);
  });
}

async function worker(deadline: number): Promise<void> {
  while (Date.now() < deadline) await request();
}

async function main(): Promise<void> {
  const started = Date.now();
  const deadline = started + durationMs;
  await Promise.all(Array.from({ length: concurrency }, () => worker(deadline)));
  const elapsedS = (Date.now() - started) / 1000;
  latenciesUs.sort((a, b) => a - b);
  const pct = (q: number) => (latenciesUs.length ? latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(q * latenciesUs.length))] / 1000 : 0);
  const out = {
    op: args.op, frontends: args.frontend, concurrency, valueBytes: value.length, elapsedS: Number(elapsedS.toFixed(2)),
    requests: latenciesUs.length, requestsPerSec: Math.round(latenciesUs.length / elapsedS),
    latencyMs: { p50: pct(0.5).toFixed(2), p90: pct(0.9).toFixed(2), p99: pct(0.99).toFixed(2), max: pct(1).toFixed(2) },
    statuses: Object.fromEntries(statuses),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  agent.destroy();
}

void main();
