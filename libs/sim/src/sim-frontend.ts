import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import { FogError, type PartitionTable, type WireOp } from '@fog/protocol';
import { HintQueue, hintOutcomeOf, type HintBatch } from '@fog/replica-sync';
import { EscapedError, type Endpoint } from './network';
import type { SimController } from './sim-controller';
import { StorageProcess } from './sim-storage';
import type { World } from './world';

/**
 * One run of the frontend app minus HTTP: the real Coordinator over a transport on the
 * simulated network, the real HintQueue delivered on a virtual-time timer (hint-delivery.ts),
 * and the controller link. Its hints live in memory: a restart loses them.
 */
export class FrontendProcess implements Endpoint {
  readonly coordinator: Coordinator;
  readonly hints = new HintQueue();
  private table: PartitionTable | null = null;
  private running = true;
  private registered = false;
  skewMs: number;

  constructor(readonly id: string, private readonly world: World, private readonly controller: SimController, private readonly storageAt: (address: string) => StorageProcess | Endpoint, skewMs: number) {
    this.skewMs = skewMs;
    const transport: ReplicaTransport = {
      send: (address, epoch, op) => this.send(address, epoch, op),
    };
    const random = world.rng.fork().next;
    this.coordinator = new Coordinator({
      transport,
      clock: new HybridClock(),
      nowMs: () => this.nowMs(),
      random,
      writerId: id,
      table: () => this.table,
      refreshTable: () => this.refreshTable(),
      sleep: (ms) => world.sched.sleep(ms),
      events: {
        replicaOutcome: () => undefined,
        readRepair: () => undefined,
        restamp: () => undefined,
        unreachable: (nodeId) => {
          void world.net.rpc(this, controller, 'suspect', () => controller.suspect(nodeId), world.timings.controllerRequestTimeoutMs).catch(() => undefined);
        },
        missedWrite: (node, partition, key, ver, val) => {
          if (world.hintsEnabled) this.hints.add(node, partition, key, ver, val, this.world.sched.nowMs);
        },
      },
    });
  }

  alive(): boolean {
    return this.running;
  }

  kill(): void {
    this.running = false;
  }

  nowMs(): number {
    return this.world.sched.nowMs + this.skewMs;
  }

  hasTable(): boolean {
    return this.table !== null;
  }

  start(): void {
    const t = this.world.timings;
    this.every(0, t.heartbeatIntervalMs, 'link', () => this.linkTurn());
    if (this.world.hintsEnabled) this.every(t.hintDeliveryIntervalMs, t.hintDeliveryIntervalMs, 'hint delivery', () => this.deliverHints());
  }

  adoptTable(table: PartitionTable): void {
    if (this.table && table.epoch <= this.table.epoch) return;
    this.table = table;
  }

  refreshTable(): Promise<void> {
    return this.world.net.rpc(this, this.controller, 'table fetch', () => this.controller.table(), this.world.timings.controllerRequestTimeoutMs)
      .then((t) => {
        if (t) this.adoptTable(t);
      }, () => undefined);
  }

  private send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    const node = this.storageAt(address);
    return this.world.net.rpc(this, node, `ops ${op.op}`, () => {
      if (!(node instanceof StorageProcess)) throw new FogError('FOG_ERR_NODE_NOT_FOUND');
      return node.ops(epoch, JSON.parse(JSON.stringify(op)) as WireOp);
    }, this.world.timings.replicaRequestTimeoutMs);
  }

  private every(firstMs: number, periodMs: number, what: string, fn: () => void): void {
    const turn = () => {
      if (!this.running) return;
      try {
        fn();
      } catch (err) {
        this.world.escaped(new EscapedError(this.id, what, err));
      }
      this.world.sched.after(periodMs, `${this.id} ${what}`, turn);
    };
    this.world.sched.after(firstMs, `${this.id} ${what}`, turn);
  }

  private linkTurn(): void {
    const timeout = this.world.timings.controllerRequestTimeoutMs;
    if (!this.registered) {
      const reg = { id: this.id, role: 'frontend', address: `${this.id}.sim:8000`, zone: 'fe', weight: 1 };
      this.world.net.rpc(this, this.controller, 'register', () => this.controller.register(reg), timeout).then((r) => {
        this.registered = true;
        if (r.table) this.adoptTable(r.table);
      }, () => undefined);
      return;
    }
    const epoch = this.table?.epoch ?? 0;
    this.world.net.rpc(this, this.controller, 'heartbeat', () => this.controller.heartbeat(this.id, epoch), timeout).then((r) => {
      if (!r.known) this.registered = false;
      if (r.table) this.adoptTable(r.table);
    }, () => undefined);
  }

  /** One delivery turn of hint-delivery.ts: expire, send what is due, record the outcomes. */
  private deliverHints(): void {
    const now = this.world.sched.nowMs;
    this.hints.expire(now);
    const table = this.table;
    if (!table) return;
    for (const batch of this.hints.nextBatch(now, (id) => table.nodes[id]?.state === 'up')) void this.sendBatch(table, batch);
  }

  private async sendBatch(table: PartitionTable, batch: HintBatch): Promise<void> {
    const address = table.nodes[batch.node]?.address;
    const replies = batch.hints.map((h): Promise<ReplicaReply | null> => {
      if (!address) return Promise.resolve(null);
      const op: WireOp = { op: 'put', p: h.partition, key: h.key, ver: h.ver, val: h.val, via: 'hint' };
      return this.send(address, table.epoch, op).catch(() => null);
    });
    const outcomes = (await Promise.all(replies)).map((r) => hintOutcomeOf(r, table.epoch));
    if (this.running) this.hints.onResult(batch.node, outcomes, this.world.sched.nowMs);
  }
}
