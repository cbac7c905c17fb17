import yargs, { type Argv } from 'yargs';
import { FogAdmin, FogClient, FogClientError, type ClientBatchOp, type WriteOptions } from '@fog/client';
import { BUILD_VERSION, parseDurationMs, parseTtl, WATCH_LIMITS, type BatchRequestOp, type ConsistencyLevel, type RestoreRequestEntry } from '@fog/protocol';
import { entryLine, headerLine, parseBackupLine, trailerLine, type BackupHeader, type BackupTrailer } from './backup-format';
import { EXIT, exitCodeOf } from './exit-codes';
import { formatDuration, formatRate, movesPending, partitionsHeld, progressBar, progressLine, renderPlan, renderStatus, table } from './format';

export const FOGCTL_DEFAULTS = {
  frontend: '127.0.0.1:8001',
  controller: '127.0.0.1:7000',
  /** How long one request may take. */
  requestTimeoutMs: 10_000,
  /** decommission: how long to wait for the node to hand off every partition. */
  decommissionTimeoutS: 600,
  /** decommission: pause between two looks at the cluster. */
  pollIntervalMs: 500,
  /** restore: most entries sent in one request (the frontend's batchItemsMax, 1000, bounds it too). */
  restoreEntriesPerRequest: 500,
  /** restore: most value bytes sent in one request (well under requestBodyBytesMax, 8 MiB). */
  restoreBytesPerRequest: 4 * 1024 * 1024,
  /** ls: keys asked per request. */
  lsPageSize: 1000,
  /** decommission: width assumed when the terminal does not say. */
  terminalColumnsDefault: 80,
} as const;

/** Everything fogctl touches outside itself, so tests can run it in-process. */
export interface CliIo {
  stdout: (data: string | Buffer) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<Buffer>;
  readFile: (path: string) => Promise<Buffer>;
  /** A file written as a stream (a backup): chunks in order, then close. */
  openOutput: (path: string) => Promise<{ write: (text: string) => Promise<void>; close: () => Promise<void> }>;
  /** A text file read line by line (a backup being restored), without holding it whole. */
  readLines: (path: string) => AsyncIterable<string>;
  env: Record<string, string | undefined>;
  /** stdout and stderr are terminals: the progress bar redraws in place (otherwise it prints plain lines). */
  isTty: boolean;
  /** Width of the terminal in cells, when it is one. */
  columns?: number;
  sleep: (ms: number) => Promise<void>;
  nowMs: () => number;
}

interface Common {
  frontend: string[];
  controller: string;
  json: boolean;
  timeoutMs: number;
  /** The cluster secret, for the admin commands (decommission, forget, plan). */
  clusterSecret?: string;
}

type Action = (c: Common) => Promise<number>;

const EPILOG = `Addresses: --frontend (repeatable, or FOG_FRONTEND=a:1,b:2) and --controller (or FOG_CONTROLLER).
Exit codes: 0 ok, 1 failed, 2 bad arguments or input refused (400/413), 3 not found, 4 version conflict,
5 cluster unavailable (quorum not met, no frontend answered, timeout), 6 decommission timed out
(forget: 4 when the node is not left or replaced-out).`;

function level(v: unknown): ConsistencyLevel | undefined {
  if (v === undefined) return undefined;
  return /^\d+$/.test(String(v)) ? Number(v) : (String(v) as ConsistencyLevel);
}

/**
 * Stands for a lone `-` (stdin) while yargs parses: yargs turns `-` into an empty string, which
 * would be taken for an empty value. No argument can hold NUL, so this cannot clash.
 */
const STDIN = '\u0000stdin';

/** Run fogctl with these arguments; resolves with the exit code. */
export async function runCli(rawArgv: string[], io: CliIo): Promise<number> {
  const argv = rawArgv.map((a) => (a === '-' ? STDIN : a));
  let action: Action | null = null;
  const envFrontends = io.env.FOG_FRONTEND?.split(',').map((s) => s.trim()).filter(Boolean);
  const parser = yargs(argv)
    .scriptName('fogctl')
    .usage('$0 <command> [options]\n\nCommand-line client of a Velour Fog cluster.')
    // Not an array option: yargs arrays swallow the command after them; a repeated flag still gives several.
    .option('frontend', { type: 'string', describe: 'frontend host:port (repeat the flag, or comma-separate; requests fail over between them)', default: envFrontends?.length ? envFrontends.join(',') : FOGCTL_DEFAULTS.frontend })
    .option('controller', { type: 'string', describe: 'controller host:port (status, decommission, forget)', default: io.env.FOG_CONTROLLER || FOGCTL_DEFAULTS.controller })
    .option('cluster-secret-file', { type: 'string', describe: 'file holding the cluster secret (or FOG_CLUSTER_SECRET): decommission, forget and plan need it' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout, for scripts' })
    .option('timeout-ms', { type: 'number', default: FOGCTL_DEFAULTS.requestTimeoutMs, describe: 'ms one request may take' })
    .command('get <key>', 'print the value of KEY (raw bytes; --json: with its version)', (y) =>
      y.positional('key', { type: 'string', demandOption: true }).option('r', { type: 'string', describe: 'replicas to read: 1..K, one, quorum, all' })
        .option('after', { type: 'string', describe: 'a receipt: answer with this version (as put printed it) or a newer one' }),
    (a) => { action = (c) => get(io, c, a.key, level(a.r), a.after); })
    .command('put <key> [value]', 'store VALUE under KEY (VALUE or --file FILE; - for either reads stdin)', (y) =>
      valueOptions(writeOptions(y.positional('key', { type: 'string', demandOption: true }).positional('value', { type: 'string' }))).option('if-none-match', { type: 'boolean', describe: 'only create: fail with exit 4 if KEY has a value' }),
    (a) => { action = (c) => put(io, c, 'put', a.key, a.value, a.file, { w: level(a.w), ifMatch: a['if-match'], ifNoneMatch: a['if-none-match'] ? '*' : undefined, ttl: ttlOption(a.ttl) }); })
    .command('watch <key>', 'print the value of KEY each time it changes (a blocking read per change; --once: the first change only)', (y) =>
      y.positional('key', { type: 'string', demandOption: true })
        .option('since', { type: 'string', describe: 'wait for a version newer than this one (default: the version the key has now)' })
        .option('wait', { type: 'string', default: '30s', describe: 'how long one blocking read waits before it asks again (at most 120s)' })
        .option('once', { type: 'boolean', default: false, describe: 'exit after the first change' }),
    (a) => { action = (c) => watch(io, c, a.key, a.since, a.wait, a.once); })
    .command(['delete <key>', 'del <key>'], 'delete KEY', (y) => writeOptions(y.positional('key', { type: 'string', demandOption: true })),
      (a) => { action = (c) => del(io, c, a.key, { w: level(a.w), ifMatch: a['if-match'] }); })
    .command('append <key> [value]', 'append VALUE to the value of KEY (VALUE or --file FILE; - reads stdin)', (y) =>
      valueOptions(writeOptions(y.positional('key', { type: 'string', demandOption: true }).positional('value', { type: 'string' }))),
    (a) => { action = (c) => put(io, c, 'append', a.key, a.value, a.file, { w: level(a.w), ifMatch: a['if-match'], ttl: ttlOption(a.ttl) }); })
    .command('ls [prefix]', 'list keys in order (all, or those starting with PREFIX), every partition merged; --json: one line per key with version and size', (y) =>
      y.positional('prefix', { type: 'string' })
        .option('r', { type: 'string', describe: 'replicas each partition is read from: 1..K, one, quorum, all' })
        .option('limit', { type: 'number', describe: 'stop after this many keys' })
        .option('page-size', { type: 'number', default: FOGCTL_DEFAULTS.lsPageSize, describe: 'keys asked per request' }),
    (a) => { action = (c) => ls(io, c, a.prefix ?? '', level(a.r), a.limit, a['page-size']); })
    .command('backup <file>', 'write every key with its version and value to FILE (JSON lines), read at quorum partition by partition, progress on stderr', (y) =>
      y.positional('file', { type: 'string', demandOption: true }).option('r', { type: 'string', describe: 'replicas each partition is read from (default quorum)' }),
    (a) => { action = (c) => backup(io, c, a.file, level(a.r)); })
    .command('restore <file>', 'write back the keys of a backup FILE with their versions: a key written since with a newer version keeps it', (y) =>
      y.positional('file', { type: 'string', demandOption: true }).option('w', { type: 'string', describe: 'replicas that must acknowledge each key (default quorum)' }),
    (a) => { action = (c) => restore(io, c, a.file, level(a.w)); })
    .command('locate <key>', 'show the partition and replicas of KEY and why each replica holds it', (y) => y.positional('key', { type: 'string', demandOption: true }),
      (a) => { action = (c) => locate(io, c, a.key); })
    .command('batch <file>', 'run the operations of a JSON file {"ops": [...]} (- for stdin) in one request', (y) =>
      y.positional('file', { type: 'string', demandOption: true }).option('r', { type: 'string', describe: 'replicas to read' }).option('w', { type: 'string', describe: 'replicas to acknowledge writes' }),
    (a) => { action = (c) => batch(io, c, a.file, level(a.r), level(a.w)); })
    .command('status', 'show the cluster: partition health, nodes and their load, and the moves (done/total, bytes, rate, ETA)', (y) =>
      y.option('moves', { type: 'boolean', default: false, describe: 'list every move in progress' }),
    (a) => { action = (c) => status(io, c, a.moves); })
    .command('plan <change> <node>', 'dry run: which partitions would move if NODE were added or removed (nothing changes)', (y) =>
      y.positional('change', { type: 'string', choices: ['add', 'remove'], demandOption: true })
        .positional('node', { type: 'string', demandOption: true })
        .option('zone', { type: 'string', describe: 'add: the new node\'s zone' })
        .option('weight', { type: 'number', describe: 'add: the new node\'s weight' })
        .option('all', { type: 'boolean', default: false, describe: 'list every partition that would move' }),
    (a) => { action = (c) => plan(io, c, a.change as 'add' | 'remove', a.node, a.zone, a.weight, a.all); })
    .command('decommission <node>', 'move every partition off a storage node, with a progress bar until it holds none', (y) =>
      y.positional('node', { type: 'string', demandOption: true })
        .option('timeout-s', { type: 'number', default: FOGCTL_DEFAULTS.decommissionTimeoutS, describe: 'give up waiting after this many seconds (exit 6)' })
        .option('interval-ms', { type: 'number', default: FOGCTL_DEFAULTS.pollIntervalMs, describe: 'ms between two looks at the cluster' }),
    (a) => { action = (c) => decommission(io, c, a.node, a['timeout-s'], a['interval-ms']); })
    .command('forget <node>', 'remove a left node, or an out node whose partitions were all replaced, from the membership (exit 4 for any other node)', (y) =>
      y.positional('node', { type: 'string', demandOption: true }),
    (a) => { action = (c) => forget(io, c, a.node); })
    .demandCommand(1, 'give a command (fogctl --help lists them)')
    .strict()
    .epilog(EPILOG)
    .help()
    .alias('h', 'help')
    .version(BUILD_VERSION)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false);

  let output = '';
  let parseError: Error | null = null;
  let common: Common | null = null;
  try {
    const args = await parser.parseAsync(argv, {}, (err: Error | undefined, _argv: unknown, out: string) => {
      if (err) parseError = err;
      output = out;
    });
    const secretFile = args['cluster-secret-file'] as string | undefined;
    const clusterSecret = secretFile !== undefined ? (await io.readFile(secretFile)).toString('utf8').trim() : io.env.FOG_CLUSTER_SECRET?.trim() || undefined;
    common = {
      frontend: ([] as string[]).concat(args.frontend as string | string[]).flatMap((f) => f.split(',')).filter(Boolean), controller: args.controller as string,
      json: Boolean(args.json), timeoutMs: args['timeout-ms'] as number, clusterSecret,
    };
  } catch (err) {
    parseError = err as Error;
  }
  if (parseError) {
    io.stderr(`fogctl: ${(parseError as Error).message}\n(fogctl --help lists the commands, fogctl <command> --help their options)\n`);
    return EXIT.usage;
  }
  if (!action) {
    // --help (or a help for one command): yargs produced the text.
    if (output) io.stdout(`${output}\n`);
    return EXIT.ok;
  }
  try {
    return await (action as Action)(common!);
  } catch (err) {
    if (err instanceof FogClientError) return fail(io, common!, err);
    if (err instanceof UsageError) {
      io.stderr(`fogctl: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

class UsageError extends Error {}

function writeOptions<T>(y: Argv<T>) {
  return y
    .option('w', { type: 'string', describe: 'replicas that must acknowledge: 1..K, one, quorum, all' })
    .option('if-match', { type: 'string', describe: 'only if the stored version is this one (exit 4 otherwise)' });
}

function valueOptions<T>(y: Argv<T>) {
  return y.option('file', { type: 'string', describe: 'read the value from this file (- for stdin)' })
    .option('ttl', { type: 'string', describe: 'the value expires after this long: 30s, 5m, 2h, 7d (a bare number is seconds)' });
}

function fail(io: CliIo, c: Common, err: FogClientError): number {
  io.stderr(`fogctl: ${err.code}: ${err.message}\n`);
  if (c.json) io.stdout(`${JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), ...(err.status ? { status: err.status } : {}) } })}\n`);
  return exitCodeOf(err);
}

async function withClient<T>(c: Common, fn: (client: FogClient) => Promise<T>): Promise<T> {
  const client = new FogClient({ frontends: c.frontend, requestTimeoutMs: c.timeoutMs });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

async function withAdmin<T>(c: Common, fn: (admin: FogAdmin) => Promise<T>): Promise<T> {
  const admin = new FogAdmin(c.controller, c.timeoutMs, c.clusterSecret);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

function textOrBase64(value: Buffer): { value: string; encoding: 'utf8' | 'base64' } {
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) ? { value: text, encoding: 'utf8' } : { value: value.toString('base64'), encoding: 'base64' };
}

async function get(io: CliIo, c: Common, key: string, r: ConsistencyLevel | undefined, after?: string): Promise<number> {
  const got = await withClient(c, (client) => client.get(key, after === undefined ? { r } : { r, after }));
  if (!got) {
    io.stderr(`fogctl: FOG_ERR_NOT_FOUND: no such key\n`);
    if (c.json) io.stdout(`${JSON.stringify({ error: { code: 'FOG_ERR_NOT_FOUND', message: 'no such key', status: 404 } })}\n`);
    return EXIT.notFound;
  }
  if (c.json) io.stdout(`${JSON.stringify({ key, version: got.version, partition: got.partition, bytes: got.value.length, ...(got.ttlMs !== undefined ? { ttlMs: got.ttlMs } : {}), ...textOrBase64(got.value) })}\n`);
  else io.stdout(got.value);
  return EXIT.ok;
}

/** --ttl, checked before anything is sent (a bad one is a usage error, exit 2). */
function ttlOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const r = parseTtl(text);
  if (!r.ok) throw new UsageError(`--ttl: ${r.message}`);
  return text;
}

async function watch(io: CliIo, c: Common, key: string, from: string | undefined, waitText: string, once: boolean): Promise<number> {
  const wait = parseDurationMs(waitText, 0, WATCH_LIMITS.watchWaitMsMax, '--wait');
  if (!wait.ok) throw new UsageError(wait.message);
  return withClient(c, async (client) => {
    let version: string | null = from ?? (await client.get(key))?.version ?? null;
    for (;;) {
      const w = await client.watch(key, version, { waitMs: wait.ms });
      if (!w.changed) continue;
      version = w.version ?? version;
      if (c.json) {
        const body = w.value
          ? { key, version: w.version, bytes: w.value.value.length, ...textOrBase64(w.value.value) }
          : { key, version: w.version ?? null, deleted: true };
        io.stdout(`${JSON.stringify(body)}\n`);
      } else if (w.value) io.stdout(Buffer.concat([w.value.value, Buffer.from('\n')]));
      else io.stdout(`(deleted at ${w.version ?? 'an unknown version'})\n`);
      if (once) return EXIT.ok;
    }
  });
}

async function readInput(io: CliIo, file: string): Promise<Buffer> {
  if (file === STDIN) return io.readStdin();
  try {
    return await io.readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function readValue(io: CliIo, value: string | undefined, file: string | undefined): Promise<Buffer> {
  if (value !== undefined && file !== undefined) throw new UsageError('give VALUE or --file, not both');
  if (value === STDIN) return io.readStdin();
  if (value !== undefined) return Buffer.from(value, 'utf8');
  if (file === undefined) throw new UsageError('give VALUE, or --file FILE (- for either reads stdin)');
  return readInput(io, file);
}

async function put(io: CliIo, c: Common, kind: 'put' | 'append', key: string, value: string | undefined, file: string | undefined, opts: WriteOptions): Promise<number> {
  const bytes = await readValue(io, value, file);
  const res = await withClient(c, (client) => (kind === 'put' ? client.put(key, bytes, opts) : client.append(key, bytes, opts)));
  if (c.json) io.stdout(`${JSON.stringify(res)}\n`);
  else io.stdout(`OK ${kind} version ${res.version} partition ${res.partition.toString(16)} replicas ${res.replicas}${res.bytes !== undefined ? ` bytes ${res.bytes}` : ''}${res.expiresAtMs !== undefined ? ` expires ${new Date(res.expiresAtMs).toISOString()}` : ''}\n`);
  return EXIT.ok;
}

async function del(io: CliIo, c: Common, key: string, opts: WriteOptions): Promise<number> {
  const res = await withClient(c, (client) => client.delete(key, opts));
  if (c.json) io.stdout(`${JSON.stringify(res)}\n`);
  else io.stdout(`OK delete version ${res.version} partition ${res.partition.toString(16)} replicas ${res.replicas}\n`);
  return EXIT.ok;
}

async function ls(io: CliIo, c: Common, prefix: string, r: ConsistencyLevel | undefined, limit: number | undefined, pageSize: number): Promise<number> {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit must be a positive integer');
  if (!(Number.isInteger(pageSize) && pageSize > 0)) throw new UsageError('--page-size must be a positive integer');
  return withClient(c, async (client) => {
    let n = 0;
    for await (const item of client.scanAll({ prefix, r, keysOnly: true, limit: limit === undefined ? pageSize : Math.min(pageSize, limit) })) {
      io.stdout(c.json ? `${JSON.stringify(item)}\n` : `${item.key}\n`);
      if (limit !== undefined && ++n >= limit) break;
    }
    return EXIT.ok;
  });
}

/** A progress line on stderr: redrawn in place on a terminal, otherwise printed only when `plain` changes. */
function progress(io: CliIo, c: Common, done: number, total: number, text: string, last: { line: string }): void {
  if (c.json) return;
  if (io.isTty) {
    io.stderr(`\r\x1b[2K${progressLine(done, total, text, io.columns ?? FOGCTL_DEFAULTS.terminalColumnsDefault)}`);
    return;
  }
  // In a log, one line per tenth of the way (and the last), not one per partition.
  const line = `${progressBar(Math.floor((done * 10) / Math.max(1, total)), 10)} ${text}`;
  if (line !== last.line && (done === total || Math.floor((done * 10) / Math.max(1, total)) !== Math.floor(((done - 1) * 10) / Math.max(1, total)))) io.stderr(`${line}\n`);
  last.line = line;
}

async function backup(io: CliIo, c: Common, file: string, r: ConsistencyLevel | undefined): Promise<number> {
  return withClient(c, async (client) => {
    const topo = await client.topology();
    const startedAtMs = io.nowMs();
    let out: Awaited<ReturnType<CliIo['openOutput']>>;
    try {
      out = await io.openOutput(file);
    } catch (err) {
      throw new UsageError(`cannot write ${file}: ${(err as Error).message}`);
    }
    let keys = 0;
    let valueBytes = 0;
    const last = { line: '' };
    try {
      await out.write(headerLine({ digits: topo.digits, partitions: topo.partitions, epoch: topo.epoch, startedAtMs }));
      for (let p = 0; p < topo.partitions; p++) {
        let after: string | undefined;
        for (;;) {
          const page = await client.scan({ partition: p, withBucketItems: true, r, after, limit: FOGCTL_DEFAULTS.lsPageSize });
          let chunk = '';
          for (const item of page.items) {
            chunk += entryLine(item);
            keys++;
            valueBytes += item.bytes;
          }
          if (chunk) await out.write(chunk);
          if (page.next === null) break;
          after = page.next;
        }
        progress(io, c, p + 1, topo.partitions, `partition ${p + 1}/${topo.partitions} · ${keys} keys · ${valueBytes} value bytes`, last);
      }
      await out.write(trailerLine({ keys, valueBytes, finishedAtMs: io.nowMs() }));
    } finally {
      await out.close();
    }
    if (io.isTty && !c.json) io.stderr('\n');
    if (c.json) io.stdout(`${JSON.stringify({ file, keys, valueBytes, partitions: topo.partitions, elapsedMs: io.nowMs() - startedAtMs })}\n`);
    else io.stdout(`backup of ${keys} keys (${valueBytes} value bytes, ${topo.partitions} partitions) written to ${file}\n`);
    return EXIT.ok;
  });
}

async function restore(io: CliIo, c: Common, file: string, w: ConsistencyLevel | undefined): Promise<number> {
  return withClient(c, async (client) => {
    let header: BackupHeader | null = null;
    let trailer: BackupTrailer | null = null;
    let lineNo = 0;
    let sent = 0;
    const counts = { restored: 0, newer: 0, failed: 0 };
    const failedCodes = new Map<string, number>();
    let pending: RestoreRequestEntry[] = [];
    let pendingBytes = 0;
    let flushes = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const results = await restoreChunk(client, pending, w);
      for (const r of results) {
        if (r.status === 200) counts[r.outcome === 'newer' ? 'newer' : 'restored']++;
        else {
          counts.failed++;
          const code = r.error?.code ?? String(r.status);
          failedCodes.set(code, (failedCodes.get(code) ?? 0) + 1);
        }
      }
      sent += pending.length;
      pending = [];
      pendingBytes = 0;
      flushes++;
      // The total is known only at the end of the file: a count, redrawn on a terminal, one
      // line per 20 requests in a log.
      const text = `${sent} keys sent · ${counts.restored} restored · ${counts.newer} newer kept · ${counts.failed} failed`;
      if (!c.json && io.isTty) io.stderr(`\r\x1b[2K${text}`);
      else if (!c.json && flushes % 20 === 1) io.stderr(`${text}\n`);
    };
    try {
      for await (const text of io.readLines(file)) {
        lineNo++;
        if (text.trim() === '') continue;
        if (trailer) throw new UsageError(`${file}:${lineNo}: data after the end of the backup`);
        const line = parseBackupLine(text, header === null);
        if (line.kind === 'bad') throw new UsageError(`${file}:${lineNo}: ${line.message}`);
        if (line.kind === 'header') header = line.header;
        else if (line.kind === 'trailer') trailer = line.trailer;
        else {
          pending.push(line.entry);
          pendingBytes += line.entry.value.length;
          if (pending.length >= FOGCTL_DEFAULTS.restoreEntriesPerRequest || pendingBytes >= FOGCTL_DEFAULTS.restoreBytesPerRequest) await flush();
        }
      }
    } catch (err) {
      if (err instanceof UsageError || err instanceof FogClientError) throw err;
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    await flush();
    if (io.isTty && !c.json) io.stderr('\n');
    if (!header) throw new UsageError(`${file} is empty: not a backup`);
    const complete = trailer !== null && trailer.keys === sent;
    const summary = { file, keys: sent, ...counts, complete };
    if (c.json) io.stdout(`${JSON.stringify(summary)}\n`);
    else io.stdout(`restored ${counts.restored} keys, kept ${counts.newer} newer versions written since, ${counts.failed} failed (of ${sent} in ${file})\n`);
    if (!complete) io.stderr(`fogctl: ${file} ${trailer ? `says it holds ${trailer.keys} keys but ${sent} were read` : 'has no end line: the backup was cut short'}; the keys read were restored\n`);
    if (counts.failed > 0) io.stderr(`fogctl: ${counts.failed} keys failed: ${[...failedCodes].map(([code, n]) => `${code} x${n}`).join(', ')}; run the restore again (it is safe to repeat)\n`);
    return counts.failed > 0 || !complete ? EXIT.failed : EXIT.ok;
  });
}

/**
 * Send entries to POST /v1/restore; a frontend with smaller limits (--batch-items-max,
 * --request-body-bytes-max) refuses a large request whole, so it is split in halves and sent again.
 */
async function restoreChunk(client: FogClient, entries: RestoreRequestEntry[], w: ConsistencyLevel | undefined): Promise<Awaited<ReturnType<FogClient['restore']>>> {
  try {
    return await client.restore(entries, { w });
  } catch (err) {
    if (!(err instanceof FogClientError) || entries.length < 2 || (err.code !== 'FOG_ERR_BATCH_TOO_LARGE' && err.code !== 'FOG_ERR_BODY_TOO_LARGE')) throw err;
    const half = Math.ceil(entries.length / 2);
    return [...(await restoreChunk(client, entries.slice(0, half), w)), ...(await restoreChunk(client, entries.slice(half), w))];
  }
}

async function locate(io: CliIo, c: Common, key: string): Promise<number> {
  const loc = await withClient(c, (client) => client.locate(key));
  if (c.json) {
    io.stdout(`${JSON.stringify(loc)}\n`);
    return EXIT.ok;
  }
  io.stdout(`partition ${loc.partitionHex} (${loc.partition}) at epoch ${loc.epoch}; run jobs for this key on: ${loc.preferred ?? '(no replica is up)'}\n\n`);
  io.stdout(table(['REPLICA', 'ROLE', 'STATE', 'ZONE', 'WEIGHT', 'ADDRESS', 'WHY'], loc.replicas.map((r) => [r.id, r.role, r.state, r.zone, r.weight === undefined ? '-' : `${r.weight}${r.weightBasis ? ' (auto)' : ''}`, r.address, r.why ?? '-'])));
  io.stdout('\n');
  for (const r of loc.replicas) io.stdout(`${r.id}: ${r.reason}${r.weightReason ? ` Its ${r.weightReason}.` : ''}\n`);
  return EXIT.ok;
}

async function batch(io: CliIo, c: Common, file: string, r: ConsistencyLevel | undefined, w: ConsistencyLevel | undefined): Promise<number> {
  const text = (await readInput(io, file)).toString('utf8');
  let parsed: { ops?: unknown };
  try {
    parsed = JSON.parse(text) as { ops?: unknown };
  } catch {
    throw new UsageError(`${file === STDIN ? 'stdin' : file} is not JSON: expected {"ops": [{"op": "put", "key": "k", "value": "v"}, ...]}`);
  }
  if (!parsed || !Array.isArray(parsed.ops)) throw new UsageError(`${file === STDIN ? 'stdin' : file} must hold {"ops": [...]}`);
  const ops: ClientBatchOp[] = (parsed.ops as BatchRequestOp[]).map((o) =>
    o && o.op === 'put' && typeof o.value === 'string' && o.encoding === 'base64' ? { op: 'put', key: o.key, value: Buffer.from(o.value, 'base64') } : (o as ClientBatchOp));
  const results = await withClient(c, (client) => client.batch(ops, { r, w }));
  const failed = results.filter((x) => !(x.status === 200 || (x.op === 'get' && x.status === 404)));
  if (c.json) {
    io.stdout(`${JSON.stringify({ results: results.map((x) => ({ ...x, ...(x.value ? textOrBase64(x.value) : {}) })) })}\n`);
  } else {
    results.forEach((x, i) => {
      const value = x.value ? textOrBase64(x.value) : null;
      const shown = value ? (value.encoding === 'utf8' ? ` = ${JSON.stringify(value.value)}` : ` = base64:${value.value}`) : '';
      io.stdout(`${i} ${x.status} ${x.op} ${JSON.stringify(x.key)}${x.version ? ` version ${x.version}` : ''}${shown}${x.error ? ` ${x.error.code}: ${x.error.message}` : ''}\n`);
    });
  }
  if (failed.length) io.stderr(`fogctl: ${failed.length} of ${results.length} operations failed\n`);
  return failed.length ? EXIT.failed : EXIT.ok;
}

async function status(io: CliIo, c: Common, moves: boolean): Promise<number> {
  const view = await withAdmin(c, (admin) => admin.cluster());
  io.stdout(c.json ? `${JSON.stringify(view)}\n` : renderStatus(view, { moves }));
  return EXIT.ok;
}

async function plan(io: CliIo, c: Common, change: 'add' | 'remove', node: string, zone: string | undefined, weight: number | undefined, all: boolean): Promise<number> {
  if (change === 'remove' && (zone !== undefined || weight !== undefined)) throw new UsageError('--zone and --weight go with plan add');
  if (weight !== undefined && !(weight > 0)) throw new UsageError('--weight must be positive');
  return withAdmin(c, async (admin) => {
    const view = await admin.cluster();
    const result = await admin.plan(change === 'add' ? { add: node, zone, weight } : { remove: node });
    io.stdout(c.json ? `${JSON.stringify(result)}\n` : renderPlan(result, `${change === 'add' ? 'adding' : 'removing'} ${node}`, view.partitionDigits, all));
    return EXIT.ok;
  });
}

async function forget(io: CliIo, c: Common, node: string): Promise<number> {
  const res = await withAdmin(c, (admin) => admin.forget(node));
  io.stdout(c.json ? `${JSON.stringify(res)}\n` : `${node} forgotten: it is no longer a member (it would join again as a new node)\n`);
  return EXIT.ok;
}

async function decommission(io: CliIo, c: Common, node: string, timeoutS: number, intervalMs: number): Promise<number> {
  if (!(timeoutS > 0) || !(intervalMs > 0)) throw new UsageError('--timeout-s and --interval-ms must be positive');
  return withAdmin(c, async (admin) => {
    const before = await admin.cluster();
    const start = partitionsHeld(before, node);
    if (start === null) {
      io.stderr(`fogctl: FOG_ERR_NODE_NOT_FOUND: ${node} is not a member of the cluster\n`);
      return EXIT.notFound;
    }
    try {
      await admin.decommission(node);
    } catch (err) {
      if (err instanceof FogClientError && err.code === 'FOG_ERR_ROUTE_NOT_FOUND') {
        io.stderr(`fogctl: this controller has no decommission API (POST /v1/cluster/nodes/{id}/decommission answered 404): upgrade it\n`);
        return EXIT.failed;
      }
      throw err;
    }
    const started = io.nowMs();
    const deadline = started + timeoutS * 1000;
    let lastLine = '';
    for (;;) {
      const view = await admin.cluster();
      const held = partitionsHeld(view, node) ?? 0;
      const moves = movesPending(view);
      const p = view.progress;
      const rateEta = p ? ` · ${formatRate(p.rateBytesPerSec)} · ETA ${held === 0 ? '0s' : formatDuration(p.etaMs)}` : '';
      // A terminal's line is fitted to its width, the figures first so that a narrow one cuts
      // only the node's name; a plain line (pipe, log file) is never cut.
      const line = io.isTty
        ? progressLine(start - held, start, `${held}/${start} left, ${moves} moves${rateEta} · ${node}`, io.columns ?? FOGCTL_DEFAULTS.terminalColumnsDefault)
        : `${progressBar(start - held, start)} ${node}: ${held} of ${start} partitions left, ${moves} moves pending${rateEta}`;
      // In a terminal: back to the start of the line and clear it, so a shorter line leaves no
      // stale characters. Elsewhere (a pipe, a log file): one plain line per change.
      if (!c.json && line !== lastLine) io.stderr(io.isTty ? `\r\x1b[2K${line}` : `${line}\n`);
      lastLine = line;
      if (held === 0) {
        if (!c.json && io.isTty) io.stderr('\n');
        const elapsedMs = io.nowMs() - started;
        if (c.json) io.stdout(`${JSON.stringify({ node, done: true, partitionsAtStart: start, partitionsLeft: 0, elapsedMs })}\n`);
        else io.stdout(`${node} holds no partitions: decommission complete in ${(elapsedMs / 1000).toFixed(1)}s\n`);
        return EXIT.ok;
      }
      if (io.nowMs() >= deadline) {
        if (!c.json && io.isTty) io.stderr('\n');
        if (c.json) io.stdout(`${JSON.stringify({ node, done: false, partitionsAtStart: start, partitionsLeft: held })}\n`);
        io.stderr(`fogctl: ${node} still holds ${held} partitions after ${timeoutS}s; the move goes on (check with fogctl status)\n`);
        return EXIT.timedOut;
      }
      await io.sleep(intervalMs);
    }
  });
}
