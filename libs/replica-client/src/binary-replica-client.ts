import net from 'node:net';
import tls from 'node:tls';
import { tlsInUse } from '@fog/http-kit';
import {
  DEFAULT_LIMITS, FogError, FrameReader, OPS_FRAME_PREFACE, decodeOpsResponse, encodeOpsRequest, type Timestamp, type WireOp, type WireResult,
} from '@fog/protocol';
import type { ReplicaBatchReply, ReplicaReply, ReplicaTransport } from '@fog/coordinator';
import { REPLICA_CLIENT_DEFAULTS, type ReplicaClientOptions } from './batching-replica-client';

export const BINARY_CLIENT_DEFAULTS = {
  ...REPLICA_CLIENT_DEFAULTS,
  /**
   * Frames in flight to one storage node; operations arriving meanwhile leave together in the
   * next frame. One measured the least CPU per request at both ends (fog-bench, 2 cores: frontend
   * 63/51 µs per GET/SET with 1, 69/65 with 4, 104/69 with 16).
   */
  inflightRequestsMaxPerNode: 1,
  /** Persistent connections to one node; frames are spread over them. */
  socketsMaxPerNode: 2,
  /** After a connection to a node fails, operations for it are refused this long before a new attempt. */
  reconnectDelayMs: 100,
} as const;

export type BinaryClientOptions = ReplicaClientOptions & { reconnectDelayMs: number };

/** The operations of one sendMany call, answered together once every part of them is. */
interface Group {
  results: WireResult[];
  partsLeft: number;
  epoch: number;
  clock: Timestamp;
  failed: boolean;
  resolve: (r: ReplicaBatchReply) => void;
  reject: (e: Error) => void;
}

/** Consecutive operations of a group that travel in one frame; their results go at offset. */
interface Part {
  ops: WireOp[];
  offset: number;
  /** Key and value lengths, as batchLength counts them. */
  bytes: number;
  group: Group;
}

/** What a node's queue holds: one operation (send) or one part of a group (sendMany). */
type Waiting =
  | { op: WireOp; part: null; resolve: (r: ReplicaReply) => void; reject: (e: Error) => void }
  | { op: null; part: Part; resolve: null; reject: null };

interface InFlight {
  batch: Waiting[];
  /** Operations in the frame. */
  ops: number;
  timer: NodeJS.Timeout;
  conn: Conn;
}

interface Conn {
  socket: net.Socket;
  reader: FrameReader;
  ids: Set<number>;
}

interface Node {
  address: string;
  host: string;
  port: number;
  waiting: Waiting[];
  /** Operations in `waiting` (a part counts each of its operations). */
  waitingOps: number;
  inflight: number;
  epoch: number;
  conns: Conn[];
  next: number;
  /** Until when new operations are refused after a failed connection (ms, Date.now()). */
  downUntilMs: number;
}

/**
 * The frontend → storage transport on the binary ops frames (libs/protocol ops-frames.ts):
 * a few persistent connections per node, frames multiplexed by request id, values as raw
 * bytes. Per node, operations queue and leave together: all those sent during one event-loop
 * turn go in one frame, and while `inflightRequestsMaxPerNode` frames are out the rest wait and
 * go together in the next, so under load a frame carries many operations.
 */
export class BinaryReplicaClient implements ReplicaTransport {
  private readonly nodes = new Map<string, Node>();
  private readonly inflight = new Map<number, InFlight>();
  private readonly dirty = new Set<Node>();
  private readonly opts: BinaryClientOptions;
  private nextId = 1;
  private flushScheduled = false;
  private closed = false;

  /**
   * `openingLine`: what follows the preface on each new connection, the cluster's signed
   * connection opening (http-kit ClusterAuth.connectionLine; empty in an insecure cluster).
   */
  constructor(options: Partial<BinaryClientOptions> = {}, private readonly openingLine: () => string = () => '') {
    this.opts = { ...BINARY_CLIENT_DEFAULTS, ...options };
  }

  send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    const node = this.node(address);
    if (node.waitingOps >= this.opts.queueOpsMaxPerNode) {
      return Promise.reject(new FogError('FOG_ERR_OVERLOADED', undefined, { queueOpsMax: this.opts.queueOpsMaxPerNode }));
    }
    if (node.downUntilMs > Date.now()) return Promise.reject(new Error(`${address} is unreachable`));
    if (epoch > node.epoch) node.epoch = epoch;
    return new Promise<ReplicaReply>((resolve, reject) => {
      node.waiting.push({ op, part: null, resolve, reject });
      node.waitingOps++;
      this.schedule(node);
    });
  }

  /**
   * Many operations to one node with one promise: they queue as parts of at most batchOpsMax
   * operations (usually one), each part kept whole in one frame, possibly with other waiting
   * operations. When any part fails the promise rejects.
   */
  sendMany(address: string, epoch: number, ops: WireOp[]): Promise<ReplicaBatchReply> {
    const node = this.node(address);
    if (node.waitingOps + ops.length > this.opts.queueOpsMaxPerNode) {
      return Promise.reject(new FogError('FOG_ERR_OVERLOADED', undefined, { queueOpsMax: this.opts.queueOpsMaxPerNode }));
    }
    if (node.downUntilMs > Date.now()) return Promise.reject(new Error(`${address} is unreachable`));
    if (epoch > node.epoch) node.epoch = epoch;
    if (ops.length === 0) return Promise.resolve({ results: [], epoch: node.epoch, clock: { ms: 0, c: 0 } });
    return new Promise<ReplicaBatchReply>((resolve, reject) => {
      const max = this.opts.batchOpsMax;
      const group: Group = {
        results: new Array<WireResult>(ops.length), partsLeft: Math.ceil(ops.length / max), epoch: 0, clock: { ms: 0, c: 0 }, failed: false, resolve, reject,
      };
      for (let offset = 0; offset < ops.length; offset += max) {
        const partOps = ops.length <= max ? ops : ops.slice(offset, offset + max);
        let bytes = 0;
        for (const op of partOps) bytes += opBytes(op);
        node.waiting.push({ op: null, part: { ops: partOps, offset, bytes, group }, resolve: null, reject: null });
      }
      node.waitingOps += ops.length;
      this.schedule(node);
    });
  }

  /** Operations queued, per node address (for metrics). */
  queueDepths(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [addr, n] of this.nodes) out.set(addr, n.waitingOps);
    return out;
  }

  private node(address: string): Node {
    let node = this.nodes.get(address);
    if (!node) {
      const colon = address.lastIndexOf(':');
      node = {
        address, host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)),
        waiting: [], waitingOps: 0, inflight: 0, epoch: 0, conns: [], next: 0, downUntilMs: 0,
      };
      this.nodes.set(address, node);
    }
    return node;
  }

  private schedule(node: Node): void {
    this.dirty.add(node);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAll);
    }
  }

  close(): void {
    this.closed = true;
    for (const n of this.nodes.values()) for (const c of n.conns) c.socket.destroy();
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    for (const n of this.dirty) this.pump(n);
    this.dirty.clear();
  };

  /**
   * How many waiting entries the next frame takes: bounded by operations and by bytes (it
   * always takes one; a part is never cut).
   */
  private batchLength(waiting: Waiting[]): { entries: number; ops: number } {
    let bytes = 0;
    let ops = 0;
    let n = 0;
    while (n < waiting.length) {
      const w = waiting[n];
      const count = w.part ? w.part.ops.length : 1;
      if (n > 0 && ops + count > this.opts.batchOpsMax) break;
      bytes += w.part ? w.part.bytes : opBytes(w.op);
      if (n > 0 && bytes > this.opts.batchBytesMax) break;
      ops += count;
      n++;
    }
    return { entries: n, ops };
  }

  private pump(node: Node): void {
    while (node.inflight < this.opts.inflightRequestsMaxPerNode && node.waiting.length > 0) {
      const take = this.batchLength(node.waiting);
      const batch = node.waiting.splice(0, take.entries);
      node.waitingOps -= take.ops;
      const conn = this.connection(node);
      if (!conn) {
        fail(batch, new Error(`${node.address} is unreachable`));
        continue;
      }
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
      node.inflight++;
      conn.ids.add(id);
      const timer = setTimeout(this.onTimeout, this.opts.requestTimeoutMs, id, node);
      this.inflight.set(id, { batch, ops: take.ops, timer, conn });
      conn.socket.write(encodeOpsRequest(id, node.epoch, frameOps(batch, take.ops)));
    }
  }

  private readonly onTimeout = (id: number, node: Node): void => {
    this.settle(id, node, null, new Error(`${node.address} did not answer in ${this.opts.requestTimeoutMs} ms`));
  };

  /** End one frame: resolve its operations from a response, or reject them all. */
  private settle(id: number, node: Node, frame: Buffer | null, failure: Error | null): void {
    const f = this.inflight.get(id);
    if (!f) return; // timed out already
    this.inflight.delete(id);
    f.conn.ids.delete(id);
    clearTimeout(f.timer);
    node.inflight--;
    let err = failure;
    if (frame) {
      try {
        const res = decodeOpsResponse(frame);
        if (!res.ok) err = new Error(`${node.address} refused the request (${res.status})`);
        else if (res.results.length !== f.ops) err = new Error(`malformed reply from ${node.address}`);
        else answer(f.batch, res.results, res.epoch, res.clock);
      } catch (e) {
        err = e as Error;
      }
    }
    if (err) fail(f.batch, err);
    if (node.waiting.length > 0 && !this.closed) this.pump(node);
  }

  /** A connection to the node, round robin over up to socketsMaxPerNode; null while it is down. */
  private connection(node: Node): Conn | null {
    if (this.closed || node.downUntilMs > Date.now()) return null;
    if (node.conns.length < this.opts.socketsMaxPerNode) {
      const tlsMaterial = tlsInUse();
      const socket: net.Socket = tlsMaterial
        ? tls.connect({ host: node.host, port: node.port, ca: tlsMaterial.ca }).setNoDelay(true)
        : net.connect({ host: node.host, port: node.port, noDelay: true });
      const conn: Conn = { socket, reader: new FrameReader(DEFAULT_LIMITS.internalBodyBytesMax), ids: new Set() };
      socket.write(Buffer.concat([OPS_FRAME_PREFACE, Buffer.from(`${this.openingLine()}\n`, 'latin1')]));
      const frames: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        try {
          conn.reader.push(chunk, frames);
        } catch (e) {
          socket.destroy(e as Error);
          return;
        }
        for (const fr of frames) this.settle(fr.readUInt32LE(4), node, fr, null);
        frames.length = 0;
      });
      socket.on('error', () => {
        node.downUntilMs = Date.now() + this.opts.reconnectDelayMs;
      });
      socket.on('close', () => {
        const i = node.conns.indexOf(conn);
        if (i >= 0) node.conns.splice(i, 1);
        const lost = new Error(`connection to ${node.address} closed`);
        for (const id of [...conn.ids]) this.settle(id, node, null, lost);
      });
      node.conns.push(conn);
      return conn;
    }
    node.next = (node.next + 1) % node.conns.length;
    return node.conns[node.next];
  }
}

/** What batchLength counts of an operation: its key and value lengths. */
function opBytes(op: WireOp): number {
  return ('key' in op ? op.key.length : 0) + (op.op === 'put' && op.val !== null ? op.val.length : 0);
}

/** The operations of a frame's entries, in order. */
function frameOps(batch: Waiting[], count: number): WireOp[] {
  if (batch.length === 1 && batch[0].part) return batch[0].part.ops;
  const ops = new Array<WireOp>(count);
  let j = 0;
  for (const w of batch) {
    if (w.part) for (const op of w.part.ops) ops[j++] = op;
    else ops[j++] = w.op;
  }
  return ops;
}

/** Hand each entry of an answered frame its results. */
function answer(batch: Waiting[], results: WireResult[], epoch: number, clock: Timestamp): void {
  let j = 0;
  for (const w of batch) {
    if (!w.part) {
      w.resolve({ result: results[j++], epoch, clock });
      continue;
    }
    const { ops, offset, group } = w.part;
    for (let i = 0; i < ops.length; i++) group.results[offset + i] = results[j++];
    if (epoch >= group.epoch) {
      group.epoch = epoch;
      group.clock = clock;
    }
    if (--group.partsLeft === 0 && !group.failed) group.resolve({ results: group.results, epoch: group.epoch, clock: group.clock });
  }
}

/** Reject every entry of a frame (a group once, whatever its other parts do). */
function fail(batch: Waiting[], err: Error): void {
  for (const w of batch) {
    if (!w.part) w.reject(err);
    else if (!w.part.group.failed) {
      w.part.group.failed = true;
      w.part.group.reject(err);
    }
  }
}

/** What the frontend holds: a transport it can also measure and close. */
export type ReplicaClient = ReplicaTransport & { queueDepths(): Map<string, number>; close(): void };
export const REPLICA_TRANSPORTS = ['binary', 'http'] as const;
export type ReplicaTransportKind = (typeof REPLICA_TRANSPORTS)[number];
