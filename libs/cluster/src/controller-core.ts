import { computePlacement, type PlacementNode } from '@fog/partitioning';
import { FogError, partitionCount, type NodeRegistration, type PartitionTable, type TableNode } from '@fog/protocol';
import { validateRegistration, type Member } from './member';

export interface ControllerConfig {
  /** Storage nodes needed before the first table is formed. */
  expectedStorage: number;
  /** K. */
  redundancy: number;
  /** D. */
  digits: number;
}

export interface RegisterResult {
  member: Member;
  /** True when the registration produced a new table (a new epoch to push). */
  tableChanged: boolean;
}

/**
 * The controller's decisions, with no network, disk or timers: membership, the first table,
 * epochs. The app feeds it registrations and time, and pushes the tables it produces.
 */
export class ControllerCore {
  private readonly members = new Map<string, Member>();
  private current: PartitionTable | null = null;

  constructor(readonly config: ControllerConfig) {
    if (!(config.expectedStorage >= 1)) throw new Error('expectedStorage must be >= 1');
    if (!(config.redundancy >= 1)) throw new Error('redundancy must be >= 1');
    if (config.redundancy > config.expectedStorage) {
      // K distinct replicas need at least K storage nodes.
      throw new Error(`redundancy ${config.redundancy} needs at least as many storage nodes, expected ${config.expectedStorage}`);
    }
  }

  table(): PartitionTable | null {
    return this.current;
  }

  epoch(): number {
    return this.current?.epoch ?? 0;
  }

  member(id: string): Member | undefined {
    return this.members.get(id);
  }

  listMembers(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  register(input: unknown, nowMs: number): RegisterResult {
    const reg: NodeRegistration = validateRegistration(input);
    for (const m of this.members.values()) {
      if (m.id !== reg.id && m.address === reg.address) {
        throw new FogError('FOG_ERR_CLUSTER_MISMATCH', `address ${reg.address} is already registered as ${m.id}`, { id: m.id });
      }
    }
    const existing = this.members.get(reg.id);
    if (existing && existing.role !== reg.role) {
      throw new FogError('FOG_ERR_CLUSTER_MISMATCH', `id ${reg.id} is already registered as a ${existing.role}`, { id: reg.id });
    }
    const member: Member = existing ?? { ...reg, state: 'up', registeredAtMs: nowMs, lastHeartbeatMs: nowMs };
    const moved = existing !== undefined && (existing.address !== reg.address || existing.zone !== reg.zone);
    Object.assign(member, { address: reg.address, zone: reg.zone, weight: reg.weight, state: 'up', lastHeartbeatMs: nowMs });
    this.members.set(member.id, member);

    let tableChanged = false;
    if (member.role === 'storage') {
      if (!this.current) tableChanged = this.maybeFormFirstTable();
      else if (moved && this.current.nodes[member.id]) tableChanged = this.republish();
    }
    return { member, tableChanged };
  }

  /** Record a heartbeat. False when the node is unknown (it should register again). */
  heartbeat(id: string, nowMs: number): boolean {
    const m = this.members.get(id);
    if (!m) return false;
    m.lastHeartbeatMs = nowMs;
    return true;
  }

  private storageMembers(): Member[] {
    return this.listMembers().filter((m) => m.role === 'storage');
  }

  private maybeFormFirstTable(): boolean {
    const storage = this.storageMembers();
    if (storage.length < this.config.expectedStorage) return false;
    const nodes: PlacementNode[] = storage.map((m) => ({ id: m.id, zone: m.zone, weight: m.weight }));
    const placement = computePlacement({ nodes, redundancy: this.config.redundancy, partitions: partitionCount(this.config.digits) });
    this.current = {
      epoch: 1,
      digits: this.config.digits,
      redundancy: this.config.redundancy,
      partitions: placement.replicas.map((replicas, p) => ({ replicas, pending: [], why: placement.reasons[p] })),
      nodes: this.tableNodes(storage),
    };
    assertTable(this.current);
    return true;
  }

  /** Same placement, fresh node details (an address or zone changed). */
  private republish(): boolean {
    const prev = this.current!;
    const named = new Set(Object.keys(prev.nodes));
    this.current = { ...prev, epoch: prev.epoch + 1, nodes: this.tableNodes(this.storageMembers().filter((m) => named.has(m.id))) };
    return true;
  }

  private tableNodes(members: Member[]): Record<string, TableNode> {
    const out: Record<string, TableNode> = {};
    for (const m of members) out[m.id] = { id: m.id, address: m.address, zone: m.zone, weight: m.weight, state: m.state };
    return out;
  }
}

/** What must never happen in a published table: crash loudly rather than serve it. */
export function assertTable(t: PartitionTable): void {
  const want = Math.min(t.redundancy, Object.keys(t.nodes).length);
  if (t.partitions.length !== partitionCount(t.digits)) throw new Error(`table has ${t.partitions.length} partitions, expected ${partitionCount(t.digits)}`);
  t.partitions.forEach((entry, p) => {
    if (entry.replicas.length < want) throw new Error(`partition ${p} has ${entry.replicas.length} replicas, fewer than ${want}`);
    const all = [...entry.replicas, ...entry.pending];
    if (new Set(all).size !== all.length) throw new Error(`partition ${p} names a node twice`);
    for (const id of all) if (!t.nodes[id]) throw new Error(`partition ${p} names unknown node ${id}`);
  });
}
