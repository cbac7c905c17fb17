import { ControllerCore, FAILURE_DEFAULTS, type ControllerConfig } from '@fog/cluster';
import type { HandoffReport, PartitionTable } from '@fog/protocol';
import { EscapedError, type Endpoint } from './network';
import type { World } from './world';

/** Where the controller pushes a new table (the storage and frontend processes). */
export interface TableSink extends Endpoint {
  adoptTable(table: PartitionTable): void;
}

/**
 * The controller app minus HTTP and disk: the real ControllerCore, ticked on virtual time,
 * answering registrations, heartbeats, copy reports, suspicions and table fetches, and pushing
 * each new table to every process it knows. It does not crash in this simulation.
 */
export class SimController implements Endpoint {
  readonly id = 'controller';
  readonly core: ControllerCore;
  /** Each published table, checked by the invariants as it appears. */
  onPublish: ((table: PartitionTable) => void) | null = null;

  constructor(private readonly world: World, config: Omit<ControllerConfig, 'downAfterMs' | 'outAfterMs' | 'suspectAfterMs'>, private readonly sinks: () => TableSink[]) {
    this.core = new ControllerCore({ ...config, ...FAILURE_DEFAULTS });
  }

  alive(): boolean {
    return true;
  }

  start(): void {
    const tick = () => {
      this.guard('tick', () => {
        if (this.core.tick(this.world.sched.nowMs)) this.published();
      });
      this.world.sched.after(this.world.timings.controllerTickIntervalMs, 'controller tick', tick);
    };
    this.world.sched.after(this.world.timings.controllerTickIntervalMs, 'controller tick', tick);
  }

  register(reg: unknown): { table: PartitionTable | null } {
    const before = this.core.epoch();
    this.core.register(reg, this.world.sched.nowMs);
    if (this.core.epoch() !== before) this.published();
    return { table: this.core.table() };
  }

  heartbeat(id: string, epoch: number): { known: boolean; table: PartitionTable | null } {
    const known = this.core.heartbeat(id, this.world.sched.nowMs);
    const t = this.core.table();
    return { known, table: t && t.epoch > epoch ? t : null };
  }

  handoff(id: string, report: HandoffReport): { accepted: boolean } {
    this.core.handoff(id, report, this.world.sched.nowMs);
    return { accepted: true };
  }

  suspect(id: string): void {
    this.core.suspect(id, this.world.sched.nowMs);
  }

  table(): PartitionTable | null {
    return this.core.table();
  }

  private published(): void {
    const t = this.core.table()!;
    this.world.sched.note(`controller publishes epoch ${t.epoch}: ${Object.values(t.nodes).map((n) => `${n.id}=${n.state}`).join(' ')}; pending ${t.partitions.reduce((n, e) => n + e.pending.length, 0)}`);
    this.onPublish?.(t);
    for (const sink of this.sinks()) {
      void this.world.net.rpc(this, sink, 'table push', () => sink.adoptTable(t), this.world.timings.controllerRequestTimeoutMs).catch(() => undefined);
    }
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.world.escaped(new EscapedError(this.id, what, err));
    }
  }
}
