import net from 'node:net';
import { summarizeLatencies } from './stats';

/** Requests waiting for a free connection in open-loop mode before new ones are dropped (counted as errors). */
export const OPEN_LOOP_QUEUE_MAX = 100_000;
const CONNECT_TIMEOUT_MS = 5000;

export interface LoadSpec {
  host: string;
  port: number;
  protocol: 'http' | 'resp';
  /** The request for key i (write or read). */
  build: (i: number, write: boolean) => Buffer;
  op: 'get' | 'set' | 'mixed';
  keys: number;
  connections: number;
  durationMs: number;
  /** Offered requests/s (open loop: latency counts from the intended send time); 0: closed loop. */
  rate: number;
}

export interface LoadResult {
  requests: number;
  elapsedS: number;
  errors: number;
  bad: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/**
 * Incremental reader of one reply per request. Returns bytes consumed and whether it was OK,
 * or null when the reply is not complete yet.
 */
export function readReply(protocol: 'http' | 'resp', buf: Buffer): { used: number; ok: boolean } | null {
  if (protocol === 'resp') {
    const eol = buf.indexOf('\r\n');
    if (eol < 0) return null;
    const t = buf[0];
    if (t === 0x24 /* $ */) {
      const len = Number(buf.toString('latin1', 1, eol));
      if (len < 0) return { used: eol + 2, ok: false }; // nil: a preloaded key is missing
      if (buf.length < eol + 2 + len + 2) return null;
      return { used: eol + 2 + len + 2, ok: true };
    }
    return { used: eol + 2, ok: t !== 0x2d /* - */ };
  }
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  const ok = status >= 200 && status < 300;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const total = end + 4 + Number(cl[1]);
    return buf.length < total ? null : { used: total, ok };
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const term = buf.indexOf('\r\n0\r\n\r\n', end);
    if (term >= 0) return { used: term + 7, ok };
    // A body of zero chunks: "0\r\n\r\n" right after the head.
    if (buf.length >= end + 9 && buf.toString('latin1', end + 4, end + 9) === '0\r\n\r\n') return { used: end + 9, ok };
    return null;
  }
  return { used: end + 4, ok };
}

interface Conn {
  socket: net.Socket;
  buf: Buffer;
  busy: boolean;
  startedUs: number;
}

const nowUs = (): number => performance.now() * 1000;

/** Drive one target with the built-in generator over raw keep-alive sockets. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let bad = 0;
  let stopped = false;
  const queue: number[] = []; // open loop: intended send times (µs)
  const conns: Conn[] = [];
  const pick = (): Buffer => {
    const i = Math.floor(Math.random() * spec.keys);
    const write = spec.op === 'set' || (spec.op === 'mixed' && Math.random() < 0.5);
    return spec.build(i, write);
  };
  const dispatch = (c: Conn): void => {
    if (stopped || c.busy) return;
    if (spec.rate > 0) {
      const intended = queue.shift();
      if (intended === undefined) return;
      c.startedUs = intended;
    } else c.startedUs = nowUs();
    c.busy = true;
    c.socket.write(pick());
  };
  await Promise.all(Array.from({ length: spec.connections }, () => new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: spec.host, port: spec.port, noDelay: true });
    const timer = setTimeout(() => reject(new Error(`could not connect to ${spec.host}:${spec.port}`)), CONNECT_TIMEOUT_MS);
    const c: Conn = { socket, buf: Buffer.alloc(0), busy: false, startedUs: 0 };
    socket.once('connect', () => {
      clearTimeout(timer);
      conns.push(c);
      resolve();
    });
    socket.on('error', () => {
      clearTimeout(timer);
      errors++;
      c.busy = false;
      reject(new Error(`connection to ${spec.host}:${spec.port} failed`));
    });
    socket.on('data', (chunk: Buffer) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk;
      for (;;) {
        const r = readReply(spec.protocol, c.buf);
        if (!r) return;
        c.buf = c.buf.subarray(r.used);
        if (!stopped) {
          latencies.push(nowUs() - c.startedUs);
          if (!r.ok) bad++;
        }
        c.busy = false;
        dispatch(c);
      }
    });
  })));
  const startedUs = nowUs();
  let ticker: NodeJS.Timeout | null = null;
  if (spec.rate > 0) {
    let issued = 0;
    const tick = () => {
      const due = Math.floor(((nowUs() - startedUs) / 1e6) * spec.rate);
      for (; issued < due; issued++) {
        if (queue.length >= OPEN_LOOP_QUEUE_MAX) errors++;
        else queue.push(startedUs + (issued * 1e6) / spec.rate);
      }
      for (const c of conns) if (!c.busy) dispatch(c);
    };
    ticker = setInterval(tick, 1);
  } else for (const c of conns) dispatch(c);
  await new Promise((r) => setTimeout(r, spec.durationMs));
  stopped = true;
  if (ticker) clearInterval(ticker);
  const elapsedS = (nowUs() - startedUs) / 1e6;
  for (const c of conns) c.socket.destroy();
  return { requests: latencies.length, elapsedS, errors, bad, ...summarizeLatencies(latencies) };
}

/**
 * Send requests 0..count-1 once each over `connections` sockets (one in flight per socket),
 * for preloading. Resolves with the time taken and the replies that were not OK.
 */
export async function runSequential(
  host: string, port: number, protocol: 'http' | 'resp', count: number, connections: number, build: (n: number) => Buffer,
): Promise<{ elapsedS: number; bad: number }> {
  let next = 0;
  let bad = 0;
  const started = nowUs();
  const one = (): Promise<void> => new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    let buf: Buffer = Buffer.alloc(0);
    const send = () => {
      if (next >= count) {
        socket.destroy();
        resolve();
        return;
      }
      socket.write(build(next++));
    };
    socket.once('connect', send);
    socket.on('error', (e) => reject(e));
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        const r = readReply(protocol, buf);
        if (!r) return;
        buf = buf.subarray(r.used);
        if (!r.ok) bad++;
        send();
      }
    });
  });
  await Promise.all(Array.from({ length: Math.max(1, Math.min(connections, count)) }, one));
  return { elapsedS: (nowUs() - started) / 1e6, bad };
}
