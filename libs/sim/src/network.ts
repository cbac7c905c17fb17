import { FogError } from '@fog/protocol';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/** How messages travel, each bound with its unit in its name. */
export interface NetworkConfig {
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that one message (a request or its reply) is lost. */
  lossRate: number;
  /** Probability that a request is delivered twice (the second reply is ignored). */
  duplicateRate: number;
}

export const CALM_NETWORK: NetworkConfig = { delayMinMs: 1, delayMaxMs: 3, lossRate: 0, duplicateRate: 0 };

/** A process on the network: the network asks it whether it (this incarnation) still runs. */
export interface Endpoint {
  readonly id: string;
  alive(): boolean;
}

/** An exception that escaped a node's handler: an invariant failure, not a reply. */
export class EscapedError extends Error {
  constructor(readonly node: string, readonly what: string, override readonly cause: unknown) {
    super(`${node}: exception escaped ${what}: ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`);
  }
}

/**
 * Request and reply between simulated processes. Each message is delayed by a random virtual
 * time (so messages reorder), may be lost or duplicated, and is dropped on a cut link: `cuts`
 * holds one-way links `from>to`, so a partition is both directions and a one-way cut is one.
 * A request reaches the handler only if the target incarnation runs; a reply reaches the
 * caller only if the caller's incarnation still runs (a restarted process never sees the
 * answers of its previous life). The caller's promise rejects after `timeoutMs`.
 */
export class SimNetwork {
  config: NetworkConfig = { ...CALM_NETWORK };
  private readonly cuts = new Set<string>();
  messages = 0;
  lost = 0;

  constructor(private readonly sched: Scheduler, private readonly rng: Rng, private readonly onEscaped: (e: EscapedError) => void) {}

  cut(from: string, to: string): void {
    this.cuts.add(`${from}>${to}`);
  }

  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) for (const y of b) {
      this.cut(x, y);
      this.cut(y, x);
    }
  }

  uncut(from: string, to: string): void {
    this.cuts.delete(`${from}>${to}`);
  }

  /** The cut links that touch a node, as [from, to]. */
  cutsOf(id: string): Array<[string, string]> {
    return [...this.cuts].map((c) => c.split('>') as [string, string]).filter(([a, b]) => a === id || b === id);
  }

  healAll(): void {
    this.cuts.clear();
  }

  get cutCount(): number {
    return this.cuts.size;
  }

  private blocked(from: string, to: string): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  private delay(): number {
    return this.rng.int(this.config.delayMinMs, this.config.delayMaxMs);
  }

  /**
   * Call `handler` on `to` as a request from `from`. A FogError thrown by the handler is the
   * answer (as an HTTP error status would be); any other exception escaped the node.
   */
  rpc<T>(from: Endpoint, to: Endpoint, what: string, handler: () => T | Promise<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): boolean => {
        if (settled || !from.alive()) return false;
        settled = true;
        fn();
        return true;
      };
      this.sched.after(timeoutMs, 'timeout', () => settle(() => reject(new Error(`${what} ${from.id}>${to.id} timed out`))));
      const deliver = () => {
        if (!to.alive() || this.blocked(from.id, to.id)) return;
        let result: Promise<T>;
        try {
          result = Promise.resolve(handler());
        } catch (err) {
          result = Promise.reject(err);
        }
        result.then(
          (value) => this.send(to.id, from.id, `reply ${what}`, () => {
            if (to.alive()) settle(() => resolve(value));
          }),
          (err: unknown) => {
            if (!(err instanceof FogError)) {
              this.onEscaped(new EscapedError(to.id, what, err));
              return;
            }
            this.send(to.id, from.id, `error ${what}`, () => settle(() => reject(err)));
          },
        );
      };
      this.send(from.id, to.id, what, deliver);
      if (this.rng.chance(this.config.duplicateRate)) this.send(from.id, to.id, `dup ${what}`, deliver);
    });
  }

  /** One message: delayed, maybe lost, dropped on a cut link. */
  private send(from: string, to: string, what: string, onArrive: () => void): void {
    this.messages++;
    if (this.blocked(from, to) || this.rng.chance(this.config.lossRate)) {
      this.lost++;
      return;
    }
    this.sched.after(this.delay(), what, () => {
      if (!this.blocked(from, to)) onArrive();
    });
  }
}
