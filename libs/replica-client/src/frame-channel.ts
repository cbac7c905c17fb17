import net from 'node:net';
import tls from 'node:tls';
import { tlsInUse } from '@fog/http-kit';
import { FrameError, FrameReader } from '@fog/protocol';

export const FRAME_CHANNEL_DEFAULTS = {
  /** Persistent connections to one peer; requests are spread over them. */
  socketsMaxPerPeer: 2,
  /** Requests waiting for an answer from one peer; more are refused at once. */
  inflightRequestsMaxPerPeer: 64,
  /** After a connection to a peer fails, requests to it are refused this long before a new attempt. */
  reconnectDelayMs: 100,
} as const;

export interface FrameChannelOptions {
  /** What opens every connection (the protocol's preface); the signed opening line follows it. */
  preface: Buffer;
  /** The cluster's signed connection opening (http-kit ClusterAuth.connectionLine; empty when insecure). */
  openingLine: () => string;
  /** Largest frame accepted from a peer, header included (bytes). */
  frameBytesMax: number;
  socketsMaxPerPeer?: number;
  inflightRequestsMaxPerPeer?: number;
  reconnectDelayMs?: number;
}

/**
 * The peer answered the connection in HTTP: it does not know this preface (an older version).
 * The caller may speak HTTP to it instead.
 */
export class PeerSpeaksHttpError extends Error {}

interface Pending {
  resolve: (frame: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  conn: Conn;
}

interface Conn {
  socket: net.Socket;
  reader: FrameReader;
  ids: Set<number>;
  /** The first bytes the peer sent (to tell an HTTP answer from frames). */
  head: Buffer | null;
}

interface Peer {
  host: string;
  port: number;
  conns: Conn[];
  next: number;
  inflight: number;
  downUntilMs: number;
}

/**
 * Request and answer over length-prefixed frames (libs/protocol ops-frames.ts framing) on a
 * few persistent connections per peer, multiplexed by request id: the caller encodes a frame
 * for an id and gets back the frame that answers it. Each connection opens with the preface
 * and the signed opening line. A frame with id 0 is the peer refusing the connection (its
 * opening): every request on that connection fails with it.
 */
export class FrameChannel {
  private readonly peers = new Map<string, Peer>();
  private readonly pending = new Map<number, Pending>();
  private readonly opts: Required<FrameChannelOptions>;
  private nextId = 1;
  private closed = false;

  constructor(options: FrameChannelOptions) {
    this.opts = { ...FRAME_CHANNEL_DEFAULTS, ...options };
  }

  /** Send the frame `encode(id)` to the peer at host:port; resolves with the frame answering it. */
  request(address: string, encode: (id: number) => Buffer, timeoutMs: number): Promise<Buffer> {
    const peer = this.peer(address);
    if (peer.inflight >= this.opts.inflightRequestsMaxPerPeer) return Promise.reject(new Error(`${address}: ${peer.inflight} requests in flight already`));
    const conn = this.connection(address, peer);
    if (!conn) return Promise.reject(new Error(`${address} is unreachable`));
    let frame: Buffer;
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    try {
      frame = encode(id);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, null, new Error(`${address} did not answer in ${timeoutMs} ms`)), timeoutMs);
      peer.inflight++;
      conn.ids.add(id);
      this.pending.set(id, { resolve, reject, timer, conn });
      conn.socket.write(frame);
    }).finally(() => {
      peer.inflight--;
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) for (const c of p.conns) c.socket.destroy();
  }

  private peer(address: string): Peer {
    let peer = this.peers.get(address);
    if (!peer) {
      const colon = address.lastIndexOf(':');
      peer = { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)), conns: [], next: 0, inflight: 0, downUntilMs: 0 };
      this.peers.set(address, peer);
    }
    return peer;
  }

  private settle(id: number, frame: Buffer | null, err: Error | null): void {
    const p = this.pending.get(id);
    if (!p) return; // timed out already
    this.pending.delete(id);
    p.conn.ids.delete(id);
    clearTimeout(p.timer);
    if (frame) p.resolve(frame);
    else p.reject(err ?? new Error('no answer'));
  }

  private failAll(conn: Conn, err: Error): void {
    for (const id of [...conn.ids]) this.settle(id, null, err);
  }

  /** A connection to the peer, round robin over up to socketsMaxPerPeer; null while it is down. */
  private connection(address: string, peer: Peer): Conn | null {
    if (this.closed || peer.downUntilMs > Date.now()) return null;
    if (peer.conns.length >= this.opts.socketsMaxPerPeer) {
      peer.next = (peer.next + 1) % peer.conns.length;
      return peer.conns[peer.next];
    }
    const tlsMaterial = tlsInUse();
    const socket: net.Socket = tlsMaterial
      ? tls.connect({ host: peer.host, port: peer.port, ca: tlsMaterial.ca }).setNoDelay(true)
      : net.connect({ host: peer.host, port: peer.port, noDelay: true });
    const conn: Conn = { socket, reader: new FrameReader(this.opts.frameBytesMax), ids: new Set(), head: null };
    socket.write(Buffer.concat([this.opts.preface, Buffer.from(`${this.opts.openingLine()}\n`, 'latin1')]));
    const frames: Buffer[] = [];
    let failure: Error | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (!conn.head) conn.head = chunk.subarray(0, 8);
      try {
        conn.reader.push(chunk, frames);
      } catch (err) {
        failure = conn.head.toString('latin1').startsWith('HTTP/')
          ? new PeerSpeaksHttpError(`${address} answered in HTTP: it does not speak this framing`)
          : new Error(`${address} sent a frame that cannot be read: ${(err as FrameError).message}`);
        this.failAll(conn, failure);
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const id = f.readUInt32LE(4);
        if (id === 0) {
          // The peer refused the connection (its opening): the caller decodes why.
          const ids = [...conn.ids];
          for (const waiting of ids) this.settle(waiting, f, null);
        } else this.settle(id, f, null);
      }
      frames.length = 0;
    });
    socket.on('error', (err) => {
      failure ??= err;
      peer.downUntilMs = Date.now() + this.opts.reconnectDelayMs;
    });
    socket.on('close', () => {
      const i = peer.conns.indexOf(conn);
      if (i >= 0) peer.conns.splice(i, 1);
      this.failAll(conn, failure ?? new Error(`connection to ${address} closed`));
    });
    peer.conns.push(conn);
    return conn;
  }
}
