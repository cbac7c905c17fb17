import type { ClusterEvent, HealthSummary, NodeState, PartitionTable } from '@fog/protocol';
import { CLUSTER_VIEW_LIMITS } from './limits';
import type { Member } from './member';
import { healthCounts, partitionHealth } from './partition-health';

type HealthCounts = ReturnType<typeof healthCounts>;

export interface ObserverInput {
  members: readonly Member[];
  table: PartitionTable | null;
  /** Moves not yet complete. */
  movesPending: number;
}

/** A change of the partition health counts (the app logs it as a warning). */
export interface HealthChange {
  from: HealthCounts | null;
  to: HealthCounts;
  noneUp: number;
}

export interface Observation {
  /** Events recorded by this observation, oldest first. */
  events: ClusterEvent[];
  healthChange: HealthChange | null;
}

/**
 * Watches the controller's state from one observation to the next and turns what changed into
 * events (a bounded ring, for the status page) and health changes (for a log line): node state
 * changes, decommissions, tables published, partition health, moves starting and ending.
 * Pure: the app calls `observe` after each tick and each request that changed something.
 */
export class ClusterObserver {
  private readonly ring: ClusterEvent[] = [];
  private readonly states = new Map<string, NodeState>();
  private epoch = 0;
  /** First epoch of the run of tables the last epoch event covers. */
  private epochRunFrom = 0;
  private healthEpoch = -1;
  private healthCache: HealthSummary | null = null;
  private counts: HealthCounts | null = null;
  private movesPending = 0;

  constructor(private readonly eventsMax: number = CLUSTER_VIEW_LIMITS.eventsMax) {
    if (!(eventsMax >= 1)) throw new Error('eventsMax must be >= 1');
  }

  /** Health of the table's partitions, computed once per epoch. */
  health(table: PartitionTable | null): HealthSummary | null {
    if (!table) return null;
    if (table.epoch !== this.healthEpoch) {
      this.healthCache = partitionHealth(table);
      this.healthEpoch = table.epoch;
    }
    return this.healthCache;
  }

  /** The recent events, oldest first. */
  events(): ClusterEvent[] {
    return this.ring.map((e) => ({ ...e }));
  }

  observe(nowMs: number, input: ObserverInput): Observation {
    const events: ClusterEvent[] = [];
    const add = (e: ClusterEvent) => {
      events.push(e);
      this.push(e);
    };
    for (const m of input.members) {
      const was = this.states.get(m.id);
      if (was === m.state) continue;
      this.states.set(m.id, m.state);
      const decommission = m.state === 'leaving' || (m.state === 'left' && was === 'leaving');
      const message = was === undefined ? `${m.role} ${m.id} registered (${m.state})` : `${m.id}: ${was} → ${m.state}`;
      add({ atMs: nowMs, kind: decommission ? 'decommission' : 'node', node: m.id, message });
    }
    const table = input.table;
    if (table && table.epoch !== this.epoch) {
      const last = this.ring[this.ring.length - 1];
      // A join publishes a table per completed batch of copies: one line per run of tables,
      // not one per epoch, or they would push everything else out of the ring.
      if (last && last.kind === 'epoch' && last.epoch === this.epoch) {
        last.atMs = nowMs;
        last.epoch = table.epoch;
        last.message = `tables published: epoch ${this.epochRunFrom} → ${table.epoch}`;
      } else {
        this.epochRunFrom = table.epoch;
        add({ atMs: nowMs, kind: 'epoch', epoch: table.epoch, message: `table published: epoch ${table.epoch}` });
      }
      this.epoch = table.epoch;
    }
    let healthChange: HealthChange | null = null;
    const health = this.health(table);
    if (health) {
      const to = healthCounts(health);
      const changed = this.counts === null ? to.healthy !== table!.partitions.length : !sameCounts(this.counts, to);
      if (changed) {
        healthChange = { from: this.counts, to, noneUp: health.noneUp };
        add({ atMs: nowMs, kind: 'health', epoch: table!.epoch, message: `partitions: ${to.healthy} healthy, ${to.underReplicated} under-replicated, ${to.unavailable} unavailable` });
      }
      this.counts = to;
    }
    if (input.movesPending > 0 && this.movesPending === 0) add({ atMs: nowMs, kind: 'moves', message: `moves started: ${input.movesPending} replicas to copy` });
    if (input.movesPending === 0 && this.movesPending > 0) add({ atMs: nowMs, kind: 'moves', message: 'all moves complete' });
    this.movesPending = input.movesPending;
    return { events, healthChange };
  }

  private push(e: ClusterEvent): void {
    this.ring.push(e);
    if (this.ring.length > this.eventsMax) this.ring.shift();
  }
}

function sameCounts(a: HealthCounts, b: HealthCounts): boolean {
  return a.healthy === b.healthy && a.underReplicated === b.underReplicated && a.unavailable === b.unavailable;
}
