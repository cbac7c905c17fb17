import { Worker } from 'node:worker_threads';
import {
  computePlacement, decodePlacementResult, encodePlacementInput, type Placement, type PlacementInput, type PlacementResultWire,
} from '@fog/partitioning';
import type { Logger } from '@fog/http-kit';

export const PLACEMENT_RUNNER_LIMITS = {
  /**
   * A placement whose wall time (queued, computed and returned) exceeds this is logged as a
   * warning: epochs are meant to follow a change within a second. Unit: ms.
   */
  planWarnMs: 1000,
  /**
   * A worker that has not answered a placement in this long is taken as hung: it is stopped and
   * replaced, and that placement is computed on the controller's own thread. Generous: a D=5
   * placement on a loaded machine takes tens of seconds. Unit: ms.
   */
  planTimeoutMs: 300_000,
  /** Worker failures within failureWindowMs after which placement stays on the controller's own thread. */
  workerFailuresMax: 5,
  /** Unit: ms. */
  failureWindowMs: 10 * 60_000,
} as const;

export interface PlacementRun {
  placement: Placement;
  /** Wall time from the request to the result. Unit: ms. */
  wallMs: number;
  where: 'worker' | 'in-thread';
  /** Time this thread spent on it: encoding the input and decoding the result, or the whole placement in-thread. Unit: ms. */
  ownThreadMs: number;
}

interface Job {
  id: number;
  input: PlacementInput;
  /** Encoded when sent to a worker. */
  wire: ReturnType<typeof encodePlacementInput> | null;
  startedMs: number;
  /** Time spent on this thread so far (encoding). Unit: ms. */
  ownMs: number;
  resolve: (run: PlacementRun) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

/**
 * Runs placements on a worker thread, one at a time in order, so that no turn of the
 * controller's event loop holds for a placement (hundreds of ms at D=4). Inputs and results
 * cross as flat arrays (libs/partitioning placement-wire). When the worker fails (it crashed,
 * hung, or could not start) the failure is logged, the placement is computed on the calling
 * thread instead, and a new worker is started for the next one; after workerFailuresMax
 * failures in failureWindowMs, placement stays on the calling thread (logged as an error).
 * Without a worker file, every placement runs on the calling thread.
 */
export class PlacementRunner {
  private worker: Worker | null = null;
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private seq = 0;
  private failures: number[] = [];
  /** The last result the current worker computed (it holds the same rows): a plan from it is sent by reference. */
  private held: { id: number; replicas: string[][] } | null = null;
  private closed = false;

  constructor(private readonly workerFile: string | null, private readonly log: Logger) {}

  /** True while placements run on the worker thread. */
  usesWorker(): boolean {
    return this.workerFile !== null && this.failures.length < PLACEMENT_RUNNER_LIMITS.workerFailuresMax;
  }

  run(input: PlacementInput): Promise<PlacementRun> {
    if (this.closed) return Promise.reject(new Error('placement runner is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++this.seq, input, wire: null, startedMs: performance.now(), ownMs: 0, resolve, reject, timer: null });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    for (const job of [...(this.current ? [this.current] : []), ...this.queue.splice(0)]) {
      if (job.timer) clearTimeout(job.timer);
      job.reject(new Error('controller stopping'));
    }
    this.current = null;
    if (w) await w.terminate();
  }

  private next(): void {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    const worker = this.ensureWorker();
    if (!worker) {
      this.inThread(job);
      return;
    }
    job.timer = setTimeout(() => this.workerFailed(worker, `no answer within ${PLACEMENT_RUNNER_LIMITS.planTimeoutMs} ms`), PLACEMENT_RUNNER_LIMITS.planTimeoutMs);
    const encodeStarted = performance.now();
    const byRef = this.held !== null && job.input.previous === this.held.replicas;
    job.wire = encodePlacementInput(job.input, byRef ? this.held!.id : undefined);
    job.ownMs += performance.now() - encodeStarted;
    // The input's buffer is copied, not transferred: the job keeps it in case the worker fails.
    worker.postMessage({ id: job.id, wire: job.wire });
  }

  private ensureWorker(): Worker | null {
    if (this.worker) return this.worker;
    if (!this.usesWorker()) return null;
    let worker: Worker;
    try {
      worker = new Worker(this.workerFile!);
    } catch (err) {
      this.noteFailure(`cannot start: ${(err as Error).message}`);
      return null;
    }
    // A worker with nothing to do must not keep the process alive.
    worker.unref();
    worker.on('message', (msg: { id: number; result?: PlacementResultWire; error?: string }) => this.answered(worker, msg));
    worker.on('error', (err) => this.workerFailed(worker, err.message));
    worker.on('messageerror', (err) => this.workerFailed(worker, `unreadable answer: ${err.message}`));
    worker.on('exit', (code) => this.workerFailed(worker, `exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private answered(worker: Worker, msg: { id: number; result?: PlacementResultWire; error?: string }): void {
    const job = this.current;
    if (worker !== this.worker || !job || msg.id !== job.id) return;
    if (msg.error !== undefined || !msg.result) {
      this.held = null;
      // Computed again here: a deterministic failure then surfaces as it would without a worker.
      this.log.error('placement failed on the worker thread; computing it on the controller thread', { error: msg.error ?? 'no result' });
      this.inThread(job);
      return;
    }
    let placement: Placement;
    const decodeStarted = performance.now();
    try {
      placement = decodePlacementResult(job.input, job.wire!, msg.result);
      job.ownMs += performance.now() - decodeStarted;
      this.held = { id: job.id, replicas: placement.replicas };
    } catch (err) {
      this.held = null;
      this.log.error('placement result from the worker thread is unreadable; computing it on the controller thread', { error: (err as Error).message });
      this.inThread(job);
      return;
    }
    this.finish(job, placement, 'worker');
  }

  private workerFailed(worker: Worker, why: string): void {
    if (worker !== this.worker) return;
    this.worker = null;
    this.held = null;
    void worker.terminate().catch(() => undefined);
    if (this.closed) return;
    this.noteFailure(why);
    // The placement it held is computed here; the next one starts a new worker.
    if (this.current) this.inThread(this.current);
  }

  private noteFailure(why: string): void {
    const now = performance.now();
    this.failures = this.failures.filter((t) => now - t < PLACEMENT_RUNNER_LIMITS.failureWindowMs);
    this.failures.push(now);
    if (this.usesWorker()) {
      this.log.error('placement worker thread failed; this placement runs on the controller thread, the next on a new worker', { why, failures: this.failures.length });
    } else {
      this.log.error('placement worker thread failed too often; placements now run on the controller thread and hold its event loop', {
        why, failures: this.failures.length, windowMs: PLACEMENT_RUNNER_LIMITS.failureWindowMs,
      });
    }
  }

  private inThread(job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
    let placement: Placement;
    const started = performance.now();
    try {
      placement = computePlacement(job.input);
      job.ownMs += performance.now() - started;
    } catch (err) {
      this.current = null;
      job.reject(err as Error);
      this.next();
      return;
    }
    this.finish(job, placement, 'in-thread');
  }

  private finish(job: Job, placement: Placement, where: PlacementRun['where']): void {
    if (job.timer) clearTimeout(job.timer);
    this.current = null;
    job.resolve({ placement, wallMs: performance.now() - job.startedMs, where, ownThreadMs: job.ownMs });
    this.next();
  }
}
