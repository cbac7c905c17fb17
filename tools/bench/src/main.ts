import { authCost } from './auth-cost';
/**
 * fog-bench: starts Velour Fog (1 frontend, in-memory storage nodes, K=3) and, in the same run,
 * the anchors users would compare it with (a one-hop bare node:http Map server and a one-hop
 * Express Map server shipped here; redis-server and etcd when installed), preloads the same
 * keys into each, drives them in interleaved rounds (wrk when installed, else the built-in
 * generator, which also has an open-loop --rate mode) and prints req/s, latency percentiles,
 * CPU µs per request per process (from /proc/PID/stat) and Velour Fog's ratios to each anchor.
 * Speed is judged here, by figures, never by a test that passes or fails on a busy machine.
 *
 *   npm run build && npm run bench -- --rounds 3 --duration-ms 5000
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hideBin } from 'yargs/helpers';
import { serveAnchor } from './anchor-servers';
import { runLoad, type LoadResult } from './load';
import { parseBenchArgs, type BenchOptions, type OpName } from './options';
import { CLOCK_TICKS_PER_SECOND, cpuTicks, rssBytes } from './proc-stat';
import { commandExists, httpRequest, started, tempDir } from './processes';
import { aggregate, formatFigures, formatRatios, ratioTable, type Measurement } from './report';
import { benchValue, buildRequest, parseWrkOutput, wrkScript } from './request-shapes';
import { cpuUsPerRequest } from './stats';
import { existingFog, startAnchor, startEtcd, startFog, startRedis, type Target } from './targets';

const WRK_TIMEOUT_S = 5;

const say = (line: string) => process.stderr.write(`${line}\n`);

function runWrk(t: Target, op: OpName, keys: number, o: BenchOptions, durationMs: number, scriptDir: string): Promise<LoadResult> {
  if (t.style === 'redis') throw new Error('wrk speaks HTTP only');
  const script = path.join(scriptDir, `${t.name}-${op}.lua`);
  fs.writeFileSync(script, wrkScript(t.style, op, keys, o.valueBytes, Math.floor(Math.random() * 2 ** 31)));
  const args = ['-t1', `-c${o.connections}`, `-d${Math.max(1, Math.round(durationMs / 1000))}s`, '--timeout', `${WRK_TIMEOUT_S}s`, '-s', script, `http://${t.host}:${t.port}/`];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
      try {
        const r = parseWrkOutput(stdout);
        resolve({ ...r });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

function drive(t: Target, op: OpName, keys: number, o: BenchOptions, durationMs: number, useWrk: boolean, scriptDir: string, rate = o.rate): Promise<LoadResult> {
  if (useWrk && t.style !== 'redis' && rate === 0) return runWrk(t, op, keys, o, durationMs, scriptDir);
  const value = benchValue(o.valueBytes);
  const hp = `${t.host}:${t.port}`;
  return runLoad({
    host: t.host, port: t.port, protocol: t.style === 'redis' ? 'resp' : 'http',
    build: (i, write) => buildRequest(t.style, write, i, value, hp),
    op, keys, connections: o.connections, durationMs, rate,
  });
}

async function measure(t: Target, op: OpName, round: number, keys: number, o: BenchOptions, useWrk: boolean, scriptDir: string): Promise<Measurement> {
  const before = t.processes.map((p) => cpuTicks(p.pid));
  const r = await drive(t, op, keys, o, o.durationMs, useWrk, scriptDir);
  const after = t.processes.map((p) => cpuTicks(p.pid));
  const cpu: Record<string, number> = {};
  t.processes.forEach((p, i) => {
    cpu[p.name] = cpuUsPerRequest(after[i] - before[i], CLOCK_TICKS_PER_SECOND, r.requests);
  });
  return { target: t.name, op, round, requests: r.requests, elapsedS: r.elapsedS, p50Us: r.p50Us, p99Us: r.p99Us, p999Us: r.p999Us, bad: r.bad, errors: r.errors, cpuUsPerRequest: cpu };
}

async function main(): Promise<void> {
  const argv = hideBin(process.argv);
  if (argv[0] === '--serve-anchor') return serveAnchor(argv[1], Number(argv[3] ?? 0));
  if (argv[0] === '--auth-cost') return authCost(say);
  if (argv.includes('--help')) {
    say('fog-bench --auth-cost   (what signing and verifying internal requests costs)');
    say('fog-bench [--targets fog,bare,express,redis,etcd] [--ops get,set,mixed] [--rounds 3] [--duration-ms 5000]\n'
      + '  [--warmup-ms 1000] [--connections 50] [--keys 100000] [--hot-keys N] [--value-bytes 100] [--rate R]\n'
      + '  [--driver auto|wrk|node] [--api original|v1] [--frontend HOST:PORT] [--no-half-peak] [--storage 3] [--apps-dir DIR] [--profile-dir DIR] [--frontend-flag=--flag=value]... [--storage-flag=--flag=value]... [--storage-node-option=--v8-option]... [--storage-data-dir DIR] [--preload-only]');
    return;
  }
  let o: BenchOptions;
  try {
    o = parseBenchArgs(argv);
  } catch (e) {
    say(`fog-bench: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const haveWrk = commandExists('wrk');
  if (o.driver === 'wrk' && !haveWrk) throw new Error('--driver wrk: wrk is not installed');
  if (o.driver === 'wrk' && o.rate > 0) throw new Error('--rate needs the built-in generator (wrk has no open-loop mode)');
  const useWrk = o.driver !== 'node' && o.rate === 0 && haveWrk;
  say(`driver: ${useWrk ? 'wrk -t1 (redis: built-in generator)' : 'built-in generator'}${o.rate ? `, open loop at ${o.rate} req/s` : ', closed loop'}; ${o.connections} connections`);

  const targets: Target[] = [];
  for (const name of o.targets) {
    let t: Target | null = null;
    if (name === 'fog') {
      if (o.frontend) {
        const [h, p] = o.frontend.split(':');
        t = existingFog(h, Number(p));
      } else t = await startFog(o.storage, o.appsDir, o.profileDir, o.frontendFlags, o.storageDataDir, o.storageFlags, o.storageNodeOptions);
      if (o.api === 'v1') t.style = 'v1';
    } else if (name === 'bare' || name === 'express') t = await startAnchor(name);
    else if (name === 'redis') t = await startRedis();
    else if (name === 'etcd') t = await startEtcd();
    if (t) targets.push(t);
    else say(`${name}: not installed, left out`);
  }

  // Preload the same keys everywhere, so that every read finds a value and every write overwrites.
  const value = benchValue(o.valueBytes);
  say(`\npreload: ${o.keys} keys × ${o.valueBytes} B`);
  const preloadLines = ['| target | keys/s | refused | RSS growth per key, by process | `fog_storage_bytes` growth per key | CPU µs per key, by process |', '|---|---:|---:|---|---|---|'];
  for (const t of targets) {
    const rssBefore = t.processes.map((p) => rssBytes(p.pid));
    const cpuBefore = t.processes.map((p) => cpuTicks(p.pid));
    const storedBefore = await Promise.all(t.processes.map((p) => storageBytes(p.metricsUrl)));
    const r = await t.preload(o.keys, value);
    const growth = t.processes.map((p, i) => `${p.name} ${((rssBytes(p.pid) - rssBefore[i]) / o.keys).toFixed(0)} B`).filter((s) => !s.includes('NaN')).join(', ');
    const cpu = t.processes.map((p, i) => `${p.name} ${cpuUsPerRequest(cpuTicks(p.pid) - cpuBefore[i], CLOCK_TICKS_PER_SECOND, o.keys).toFixed(1)}`).filter((s) => !s.includes('NaN')).join(', ');
    // What the store counts against what the process grew by (the 20% the memory accounting aims at).
    const storedAfter = await Promise.all(t.processes.map((p) => storageBytes(p.metricsUrl)));
    const stored = t.processes.flatMap((p, i) => {
      const before = storedBefore[i];
      const after = storedAfter[i];
      return before === null || after === null ? [] : [`${p.name} ${((after - before) / o.keys).toFixed(0)} B`];
    }).join(', ');
    preloadLines.push(`| ${t.name}${t.name === 'fog' ? ' (/v1/batch)' : ''} | ${(o.keys / r.elapsedS).toFixed(0)} | ${r.bad} | ${growth || '-'} | ${stored || '-'} | ${cpu || '-'} |`);
  }
  say(preloadLines.join('\n'));
  if (o.preloadOnly) {
    process.stdout.write(['', `## Preload (${o.keys} keys × ${o.valueBytes} B)`, '', preloadLines.join('\n')].join('\n') + '\n');
    return;
  }

  const keys = o.hotKeys > 0 ? o.hotKeys : o.keys;
  const scriptDir = tempDir('wrk');
  const ms: Measurement[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    // Interleave: each round starts with a different target, so slow drift hits all alike.
    const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]);
    for (const t of order) {
      for (const op of o.ops) {
        if (round === 1 && o.warmupMs > 0) await drive(t, op, keys, o, o.warmupMs, useWrk, scriptDir);
        const m = await measure(t, op, round, keys, o, useWrk, scriptDir);
        ms.push(m);
        say(`round ${round} ${t.name} ${op}: ${(m.requests / m.elapsedS).toFixed(0)} req/s, p99 ${(m.p99Us / 1000).toFixed(2)} ms${m.bad ? `, ${m.bad} non-OK` : ''}${m.errors ? `, ${m.errors} errors` : ''}`);
      }
    }
  }
  fs.rmSync(scriptDir, { recursive: true, force: true });

  const aggs = aggregate(ms);
  const lines = [
    '',
    `## Figures (median of ${o.rounds} interleaved rounds, ${o.durationMs} ms each, ${o.connections} connections, ${o.valueBytes} B values, ${o.hotKeys ? `${o.hotKeys} hot keys` : `${o.keys} keys`})`,
    '',
    formatFigures(aggs),
    '',
    '## Preload',
    '',
    preloadLines.join('\n'),
  ];
  if (targets.some((t) => t.name === 'fog') && targets.length > 1) {
    lines.push('', '## Ratios (Velour Fog req/s over each anchor\'s)', '', formatRatios(ratioTable(aggs, 'fog', o.ops), 'Velour Fog', o.ops));
  }
  const fog = targets.find((t) => t.name === 'fog');
  const fogGet = aggs.find((a) => a.target === 'fog' && a.op === 'get');
  if (o.halfPeak && fog && fogGet && Number.isFinite(fogGet.rps) && o.rate === 0) {
    const rate = Math.max(1, Math.floor(fogGet.rps / 2));
    const r = await drive(fog, 'get', keys, o, o.durationMs, false, scriptDir, rate);
    lines.push('', `## Velour Fog GET at half its peak (${rate} req/s offered, open loop, built-in generator)`, '',
      `${(r.requests / r.elapsedS).toFixed(0)} req/s answered; p50 ${(r.p50Us / 1000).toFixed(2)} ms, p99 ${(r.p99Us / 1000).toFixed(2)} ms, p99.9 ${(r.p999Us / 1000).toFixed(2)} ms${r.bad ? `, ${r.bad} non-OK` : ''}${r.errors ? `, ${r.errors} errors` : ''}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function stopAll(): Promise<void> {
  await Promise.all(started.map((p) => p.stop()));
}

main().then(stopAll, async (err: Error) => {
  say(`fog-bench: ${err.message}`);
  process.exitCode = 1;
  await stopAll();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void stopAll().then(() => process.exit(130));
  });
}

/** A storage node's fog_storage_bytes (null when the process is not one, or does not answer). */
async function storageBytes(metricsUrl: string | null): Promise<number | null> {
  if (metricsUrl === null) return null;
  try {
    const m = /^fog_storage_bytes(?:\{[^}]*\})? (\S+)$/m.exec((await httpRequest(metricsUrl)).text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
