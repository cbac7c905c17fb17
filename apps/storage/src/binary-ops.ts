import type net from 'node:net';
import type { HttpMetrics, Logger } from '@fog/http-kit';
import { readOpening, serveFrames } from './binary-opening';
import {
  FogError, decodeOpsRequest, encodeOpsRefusal, encodeOpsResponse, type OpsRequest, type OpsResponse,
} from '@fog/protocol';

export interface BinaryOpsDeps {
  /** The table epoch this node holds. */
  epoch: () => number;
  refreshTable: () => Promise<void>;
  /** The same entry point the HTTP ops route calls (Durability.answerOps). */
  answerOps: (body: OpsRequest, nowMs: number, finish: (status: number, body: unknown) => void) => void;
  frameBytesMax: number;
  batchOpsMax: number;
  metrics: HttpMetrics;
  log: Logger;
  /**
   * Judges the connection's opening line (the cluster's signed connection opening): null
   * accepts it, otherwise the refusal sent (frame id 0) before the connection is closed.
   */
  checkOpening: (line: string) => FogError | null;
}

/**
 * The binary form of the internal ops route (libs/protocol ops-frames.ts): frames of
 * operations from frontends over persistent connections, answered by request id, possibly out
 * of order (a write waits for the disk). Each frame is judged as the HTTP route judges a body
 * and answered through the same engine entry point, so the two forms behave alike.
 */
export class BinaryOpsServer {
  private readonly ok: ReturnType<HttpMetrics['requests']['labels']>;
  private readonly okLatency: ReturnType<HttpMetrics['latency']['labels']>;

  constructor(private readonly deps: BinaryOpsDeps) {
    this.ok = deps.metrics.requests.labels({ op: 'internal_ops', status: '200' });
    this.okLatency = deps.metrics.latency.labels({ op: 'internal_ops', status: '200' });
  }

  /**
   * A connection that sent the preface; `rest` is what followed it. Its first line must be an
   * accepted opening (the cluster's signature) before any frame is read.
   */
  accept(socket: net.Socket, rest: Buffer): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    readOpening(socket, rest, this.deps.checkOpening, (err) => this.closeWith(socket, err), (after) => this.serve(socket, after));
  }

  private closeWith(socket: net.Socket, err: FogError): void {
    if (!socket.destroyed) socket.end(encodeOpsRefusal(0, err.status, err.toBody()));
    this.count(err.status, performance.now());
  }

  private serve(socket: net.Socket, rest: Buffer): void {
    // Answers given at once (in memory) leave in one write for the whole chunk.
    serveFrames(socket, rest, this.deps.frameBytesMax, (f) => this.frame(socket, f), (reason) => {
      // The stream cannot be resynchronised after a bad length: refuse and close.
      this.count(413, performance.now());
      this.deps.log.warn('internal connection closed', { reason });
      socket.destroy();
    });
  }

  private frame(socket: net.Socket, frame: Buffer): void {
    const startMs = performance.now();
    const id = frame.readUInt32LE(4);
    const refuse = (status: number, err: FogError): void => {
      if (!socket.destroyed) socket.write(encodeOpsRefusal(id, status, err.toBody()));
      this.count(status, startMs);
    };
    let req: { epoch: number; ops: OpsRequest['ops'] };
    try {
      req = decodeOpsRequest(frame);
    } catch (err) {
      refuse(400, new FogError('FOG_ERR_BAD_REQUEST', `malformed frame: ${(err as Error).message}`));
      return;
    }
    if (req.ops.length > this.deps.batchOpsMax) {
      refuse(413, new FogError('FOG_ERR_BATCH_TOO_LARGE', undefined, { limit: this.deps.batchOpsMax }));
      return;
    }
    const body: OpsRequest = { epoch: req.epoch, ops: req.ops };
    const finish = (status: number, out: unknown): void => {
      if (!socket.destroyed) socket.write(status === 200 ? encodeOpsResponse(id, out as OpsResponse) : encodeOpsRefusal(id, status, out));
      this.count(status, startMs);
    };
    const answer = (): void => this.deps.answerOps(body, Date.now(), finish);
    // A sender with a newer table knows something we do not: catch up before judging
    // ownership, so that a legitimate write is not fenced by our stale view.
    if (req.epoch > this.deps.epoch()) this.deps.refreshTable().then(answer, answer);
    else answer();
  }

  private count(status: number, startMs: number): void {
    const seconds = (performance.now() - startMs) / 1000;
    if (status === 200) {
      this.ok.inc();
      this.okLatency.observe(seconds);
      return;
    }
    const labels = { op: 'internal_ops', status: String(status) };
    this.deps.metrics.requests.inc(labels);
    this.deps.metrics.latency.observe(labels, seconds);
  }
}
