/**
 * Test support (not exported): the simulation's scheduler and network, run by themselves.
 * Whenever a message is sent the scheduler runs (on the next turn of the event loop, after the
 * caller's synchronous sends) until nothing is in flight, so a scenario test awaits the real
 * cores' calls as it would over HTTP while every message goes through `SimNetwork`: delayed,
 * reordered and lost by the seed's generator, with timeouts in virtual time.
 */
import { SimNetwork, type Endpoint } from '../network';
import type { Rng } from '../rng';
import { Scheduler } from '../scheduler';

export class SelfRunningNet {
  readonly sched = new Scheduler();
  readonly net: SimNetwork;
  private pumping = false;
  private sentWhilePumping = false;

  constructor(rng: Rng) {
    this.net = new SimNetwork(this.sched, rng, (e) => {
      throw e;
    });
    this.net.config = { delayMinMs: 1, delayMaxMs: 1, lossRate: 0, duplicateRate: 0 };
  }

  rpc<T>(from: Endpoint, to: Endpoint, what: string, handler: () => T | Promise<T>, timeoutMs: number): Promise<T> {
    const reply = this.net.rpc(from, to, what, handler, timeoutMs);
    this.pump();
    return reply;
  }

  private pump(): void {
    if (this.pumping) {
      this.sentWhilePumping = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => {
      void this.sched.run(Infinity).finally(() => {
        this.pumping = false;
        // A send between the last event and here found the pump busy: run once more.
        if (this.sentWhilePumping) {
          this.sentWhilePumping = false;
          this.pump();
        }
      });
    });
  }
}
