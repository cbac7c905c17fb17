/**
 * The simulated clock: an event queue in virtual milliseconds. Events at the same time run in
 * the order they were scheduled. After each event the microtasks it started (promise
 * continuations of the real cores) run to completion before the next event, so the
 * interleaving of every async step depends on the virtual times alone.
 */
interface SimEvent {
  atMs: number;
  seq: number;
  label: string;
  /** Returns false when it did nothing (a timeout of a settled request): no continuation to wait for. */
  fn: () => void | boolean;
}

/** Trace lines kept for a failure report. */
export const TRACE_LINES_MAX = 40;

export class Scheduler {
  nowMs = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];
  private readonly trace: string[] = [];
  private traceNext = 0;
  eventsRun = 0;
  /** Set by an invariant that failed: the loop stops at once. */
  stopped = false;

  constructor(readonly traceLinesMax = TRACE_LINES_MAX) {}

  at(atMs: number, label: string, fn: () => void | boolean): void {
    this.push({ atMs: Math.max(atMs, this.nowMs), seq: this.seq++, label, fn });
  }

  after(delayMs: number, label: string, fn: () => void | boolean): void {
    this.at(this.nowMs + Math.max(0, delayMs), label, fn);
  }

  /** A promise resolved `delayMs` of virtual time from now. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.after(delayMs, 'sleep', () => resolve()));
  }

  note(line: string): void {
    const text = `${String(this.nowMs).padStart(7)} ${line}`;
    if (this.trace.length < this.traceLinesMax) this.trace.push(text);
    else this.trace[this.traceNext] = text;
    this.traceNext = (this.traceNext + 1) % this.traceLinesMax;
  }

  /** The last trace lines, oldest first. */
  lastTrace(): string[] {
    if (this.trace.length < this.traceLinesMax) return [...this.trace];
    return [...this.trace.slice(this.traceNext), ...this.trace.slice(0, this.traceNext)];
  }

  /** Run events until `untilMs` (inclusive), the queue empties, `done()` holds, or a stop. */
  async run(untilMs: number, done: () => boolean = () => false): Promise<void> {
    while (!this.stopped && this.heap.length > 0 && this.heap[0].atMs <= untilMs) {
      const ev = this.pop();
      this.nowMs = ev.atMs;
      this.eventsRun++;
      // Let every promise continuation the event started settle before the next event.
      if (ev.fn() !== false) await drainMicrotasks();
      if (done()) return;
    }
    if (!this.stopped && untilMs > this.nowMs && untilMs !== Infinity) this.nowMs = untilMs;
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): SimEvent {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** setImmediate runs after the microtask queue is empty: every continuation has run. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
