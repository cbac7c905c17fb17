import type net from 'node:net';
import type { HttpMetrics, Logger } from '@fog/http-kit';
import { FogError, FrameError, encodeOpsRefusal } from '@fog/protocol';
import { decodeSyncRequest, encodeSyncReply, type SyncKind, type SyncReply } from '@fog/replica-sync';
import { readOpening, serveFrames } from './binary-opening';

export interface BinarySyncDeps {
  /**
   * Answers one message as its HTTP route does (same checks, same bounds, same engine door);
   * throws a FogError to refuse it, with nothing applied.
   */
  answer: (kind: SyncKind, body: unknown) => SyncReply;
  /** Largest frame accepted, header included (the internal body limit). */
  frameBytesMax: number;
  metrics: HttpMetrics;
  log: Logger;
  /** Judges the connection's opening line: null accepts it, otherwise the refusal sent before closing. */
  checkOpening: (line: string) => FogError | null;
}

/** Request counters use the HTTP routes' operation names, so both forms count in one series. */
export const SYNC_OP_NAMES: Record<SyncKind, string> = {
  tree: 'ae_tree', summaries: 'ae_summaries', digest: 'ae_digest', diff: 'ae_diff', push: 'ae_push', page: 'partition_page',
};

/**
 * The binary form of the storage ⇄ storage sync routes (anti-entropy and partition pages,
 * libs/replica-sync sync-frames.ts): frames from peers over persistent connections opened with
 * the signed opening, answered by request id. A malformed frame is answered with an error frame
 * (400) and nothing applied; a frame over the size limit cannot be skipped in the stream, so it
 * is answered with an error frame (id 0, 413) and the connection is closed.
 */
export class BinarySyncServer {
  constructor(private readonly deps: BinarySyncDeps) {}

  /** A connection that sent the sync preface; `rest` is what followed it. */
  accept(socket: net.Socket, rest: Buffer): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    readOpening(socket, rest, this.deps.checkOpening, (err) => this.closeWith(socket, err, 'sync_connection'), (after) => this.serve(socket, after));
  }

  private closeWith(socket: net.Socket, err: FogError, opName: string): void {
    if (!socket.destroyed) socket.end(encodeOpsRefusal(0, err.status, err.toBody()));
    this.count(opName, err.status, performance.now());
  }

  private serve(socket: net.Socket, rest: Buffer): void {
    serveFrames(socket, rest, this.deps.frameBytesMax, (f) => this.frame(socket, f), (reason) => {
      this.deps.log.warn('internal sync connection closed', { reason });
      this.closeWith(socket, new FogError('FOG_ERR_BODY_TOO_LARGE', reason, { limit: this.deps.frameBytesMax }), 'sync_connection');
    });
  }

  private frame(socket: net.Socket, frame: Buffer): void {
    const startMs = performance.now();
    const id = frame.readUInt32LE(4);
    let kind: SyncKind | null = null;
    let reply: Buffer;
    let status = 200;
    try {
      const req = decodeSyncRequest(frame);
      kind = req.kind;
      reply = encodeSyncReply(id, this.deps.answer(req.kind, req.body));
    } catch (err) {
      let fog: FogError;
      if (err instanceof FogError) fog = err;
      else if (err instanceof FrameError) fog = new FogError('FOG_ERR_BAD_REQUEST', `malformed frame: ${err.message}`);
      else {
        this.deps.log.error('internal sync request failed', { kind, error: (err as Error)?.message ?? String(err) });
        fog = new FogError('FOG_ERR_INTERNAL');
      }
      status = fog.status;
      reply = encodeOpsRefusal(id, status, fog.toBody());
    }
    if (!socket.destroyed) socket.write(reply);
    this.count(kind ? SYNC_OP_NAMES[kind] : 'sync_frame', status, startMs);
  }

  private count(opName: string, status: number, startMs: number): void {
    const labels = { op: opName, status: String(status) };
    this.deps.metrics.requests.inc(labels);
    this.deps.metrics.latency.observe(labels, (performance.now() - startMs) / 1000);
  }
}
