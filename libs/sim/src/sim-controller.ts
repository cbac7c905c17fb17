import { ControllerCore, FAILURE_DEFAULTS, type ControllerConfig, type ControllerState } from '@fog/cluster';
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
 * each new table to every process it knows. A restart resumes from the state it saved (as the
 * app does from its state file); while it is down nothing reaches it.
 */
export class SimController implements Endpoint {
  readonly id = 'controller';
  core: ControllerCore;
  private readonly config: ControllerConfig;
  private running = true;
  /** The state as last saved: when the app saves it (registration, publication, decommission, accepted copy). */
  saved: ControllerState | null = null;
  /** Each published table, checked by the invariants as it appears. */
  onPublish: ((table: PartitionTable) => void) | null = null;

  constructor(private readonly world: World, config: Omit<ControllerConfig, 'downAfterMs' | 'outAfterMs' | 'suspectAfterMs'>, private readonly sinks: () => TableSink[]) {
    this.config = { ...config, ...FAILURE_DEFAULTS };
    this.core = new ControllerCore(this.config);
  }

  alive(): boolean {
    return this.running;
  }

  /** The controller process stops; `restart` resumes from `state` (default: what it saved). */
  stop(): void {
    this.running = false;
  }

  restart(state: ControllerState | null = this.saved): void {
    this.core = state ? ControllerCore.restore(JSON.parse(JSON.stringify(state)) as ControllerState, this.config, this.world.sched.nowMs) : new ControllerCore(this.config);
    this.running = true;
  }

  start(): void {
    const tick = () => {
      if (this.running) {
        this.guard('tick', () => {
          if (this.core.tick(this.world.sched.nowMs)) {
            this.save();
            this.published();
          }
        });
      }
      this.world.sched.after(this.world.timings.controllerTickIntervalMs, 'controller tick', tick);
    };
    this.world.sched.after(this.world.timings.controllerTickIntervalMs, 'controller tick', tick);
  }

  register(reg: unknown): { table: PartitionTable | null } {
    const before = this.core.epoch();
    this.core.register(reg, this.world.sched.nowMs);
    this.save();
    if (this.core.epoch() !== before) this.published();
    return { table: this.core.table() };
  }

  heartbeat(id: string, epoch: number): { known: boolean; table: PartitionTable | null } {
    const known = this.core.heartbeat(id, this.world.sched.nowMs);
    const t = this.core.table();
    return { known, table: t && t.epoch > epoch ? t : null };
  }

  handoff(id: string, report: HandoffReport): { accepted: boolean } {
    const move = this.core.handoff(id, report, this.world.sched.nowMs);
    if (move.done) this.save();
    return { accepted: true };
  }

  suspect(id: string): void {
    this.core.suspect(id, this.world.sched.nowMs);
  }

  table(): PartitionTable | null {
    return this.core.table();
  }

  /** Save the state (the app writes its state file at these points: controller-node.ts). */
  save(): void {
    this.saved = this.core.snapshot();
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
