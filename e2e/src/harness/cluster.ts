import type { ClusterView, PartitionTable } from '@fog/protocol';
import { stopChildren } from '@fog/launcher';

export type { ClusterView };
import { describeExit, type AppProcess, type ExitStatus } from './app-process';
import type { AppName } from './app-paths';
import { get, getJson } from './http-client';
import { hostPort } from './ports';
import { startListeningApp, type ListeningApp } from './start-app';
import { TcpProxy } from './tcp-proxy';
import { makeTempDir, removeTempDir } from './temp-dir';
import { waitFor } from './wait-for';

export interface ClusterOptions {
  storage: number;
  frontends: number;
  /** K. */
  redundancy: number;
  /** D. */
  digits: number;
  /** Names the log directory. */
  label?: string;
  timeoutMs?: number;
  /** Extra flags for storage node i (e.g. its own --data-dir); kept for its restarts. */
  storageArgs?: (i: number) => string[];
  /** Extra flags for the controller (e.g. --out-after-ms, --data-dir); kept for its restarts. */
  controllerArgs?: string[];
  /** Extra flags for every frontend. */
  frontendArgs?: string[];
  /** Extra environment for storage node i (e.g. libfaketime's variables); kept for its restarts. */
  storageEnv?: (i: number) => NodeJS.ProcessEnv;
  /** Extra environment for frontend i. */
  frontendEnv?: (i: number) => NodeJS.ProcessEnv;
  /**
   * Put every storage node behind its own links (see StorageLinks), so that a test can cut one
   * node off the network (cutStorage / healStorage) while the test itself still reaches it.
   */
  storageLinks?: boolean;
}

/**
 * The network links of one storage node, each a TcpProxy: it advertises `inbound`'s port as its
 * address (frontends, peers and the controller reach it there) while it listens on its own
 * port, and it reaches the controller through `controller`. Cutting both isolates the node
 * from the cluster, except for the connections it opens to its peers itself (the peers' relays
 * cannot tell them from other nodes' connections).
 */
export interface StorageLinks {
  inbound: TcpProxy;
  controller: TcpProxy;
}


export interface NodeHealth {
  status: string;
  id?: string;
  role: string;
  epoch: number;
  registered?: boolean;
}

interface Member extends ListeningApp {
  app: AppName;
  name: string;
  /** Node id: the expected id of a storage node or frontend; `controller` for the controller. */
  id: string;
  argsFor: (port: number) => string[];
  links?: StorageLinks;
  /** Extra environment, kept for restarts. */
  env?: NodeJS.ProcessEnv;
}

const PARTITION_DIGITS_DEFAULT = 2;
/** SIGTERM to SIGKILL when the cluster is stopped. */
const STOP_GRACE_MS = 3000;

/**
 * A controller, storage nodes and frontends as real processes on 127.0.0.1, each started with
 * the original positional command line, logs in one temp directory.
 */
export class Cluster {
  private storageNodes: Member[] = [];
  private linkRelays: TcpProxy[] = [];
  private readonly paused = new Set<AppProcess>();
  private frontendNodes: Member[] = [];
  private failed = false;
  private stopped = false;

  private constructor(readonly opts: ClusterOptions, readonly logDir: string, private controllerNode: Member) {}

  /** Start everything and wait until the table is formed and every node holds epoch >= 1. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const logDir = makeTempDir(opts.label ?? `k${opts.redundancy}-s${opts.storage}`);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    // Original form: PORT NUM_STORAGE REDUNDANCY (D only when it is not the default).
    const controllerArgs = (port: number) => [
      String(port), String(opts.storage), String(opts.redundancy),
      ...(opts.digits === PARTITION_DIGITS_DEFAULT ? [] : ['--partition-digits', String(opts.digits)]),
      ...(opts.controllerArgs ?? []),
    ];
    const controller = await startListeningApp({ app: 'controller', name: 'controller', logDir, argsFor: controllerArgs, timeoutMs });
    const cluster = new Cluster(opts, logDir, { ...controller, app: 'controller', name: 'controller', id: 'controller', argsFor: controllerArgs });
    try {
      const node = async (app: 'storage' | 'frontend', i: number): Promise<Member> => {
        const name = `${app}-${i}`;
        if (app === 'storage') return cluster.startStorageMember(name, i);
        // Original form: CONTROLLER_HOST:PORT OWN_HOST:PORT; the id defaults to <role>-HOST-PORT.
        const extra = opts.frontendArgs ?? [];
        const argsFor = (port: number) => [hostPort(controller.port), hostPort(port), ...extra];
        const started = await startListeningApp({
          app, name, logDir, argsFor, timeoutMs, env: opts.frontendEnv?.(i),
          healthy: (h, port) => h.id === defaultId(app, port),
        });
        return { ...started, app, name, argsFor, id: defaultId(app, started.port) };
      };
      const results = await Promise.allSettled([
        ...Array.from({ length: opts.storage }, (_, i) => node('storage', i)),
        ...Array.from({ length: opts.frontends }, (_, i) => node('frontend', i)),
      ]);
      const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      cluster.storageNodes = started.filter((m) => m.app === 'storage');
      cluster.frontendNodes = started.filter((m) => m.app === 'frontend');
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (failures.length) throw new Error(failures.join('\n'));
      await cluster.waitFormed(timeoutMs);
      return cluster;
    } catch (err) {
      cluster.failed = true;
      const tails = cluster.logTails();
      await cluster.stop();
      throw new Error(`cluster did not start: ${(err as Error).message}\n${tails}`);
    }
  }

  // ---- accessors ----

  get controllerUrl(): string {
    return this.controllerNode.url;
  }

  get controllerProcess(): AppProcess {
    return this.controllerNode.proc;
  }

  get storageCount(): number {
    return this.storageNodes.length;
  }

  get frontendCount(): number {
    return this.frontendNodes.length;
  }

  storageUrl(i: number): string {
    return this.storageAt(i).url;
  }

  storageId(i: number): string {
    return this.storageAt(i).id;
  }

  storageProcess(i: number): AppProcess {
    return this.storageAt(i).proc;
  }

  frontendUrl(i: number): string {
    return this.frontendAt(i).url;
  }

  frontendId(i: number): string {
    return this.frontendAt(i).id;
  }

  /** Index of the storage node with this id; throws for an unknown id. */
  storageIndexOf(id: string): number {
    const i = this.storageNodes.findIndex((m) => m.id === id);
    if (i < 0) throw new Error(`no storage node ${id} in this cluster (${this.storageNodes.map((m) => m.id).join(', ')})`);
    return i;
  }

  /** Every process of the cluster, controller first. */
  processes(): AppProcess[] {
    return this.members().map((m) => m.proc);
  }

  /** Base URLs of every app: controller, storage nodes, frontends. */
  urls(): Array<{ name: string; app: AppName; url: string }> {
    return this.members().map((m) => ({ name: m.name, app: m.app, url: m.url }));
  }

  clusterView(): Promise<ClusterView> {
    return getJson<ClusterView>(`${this.controllerUrl}/v1/cluster`);
  }

  table(): Promise<PartitionTable> {
    return getJson<PartitionTable>(`${this.controllerUrl}/v1/table`);
  }

  /** Processes that exited without the harness stopping them. */
  crashes(): Array<{ name: string; status: ExitStatus }> {
    return this.members().flatMap((m) => (m.proc.unexpectedExit ? [{ name: m.name, status: m.proc.unexpectedExit }] : []));
  }

  // ---- faults ----

  /** Signal storage node i by its PID (SIGKILL by default) and wait until it has exited. */
  async killStorage(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    const m = this.storageAt(i);
    m.proc.signal(signal);
    return m.proc.waitExit(10_000);
  }

  /** Start storage node i again on the same port with the same id; wait until it holds a table. */
  async restartStorage(i: number): Promise<void> {
    const m = this.storageAt(i);
    if (m.proc.running) throw new Error(`${m.name} is still running (pid ${m.proc.pid}); kill it first`);
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const started = await startListeningApp({
      app: 'storage', name: m.name, logDir: this.logDir, argsFor: m.argsFor, port: m.port, timeoutMs, env: m.env,
      healthy: (h) => h.id === m.id,
    });
    m.proc = started.proc;
    await this.waitNodeEpoch(m, timeoutMs);
  }

  /**
   * Start one more storage node (a join after the first table), with storageArgs(index) as
   * its extra flags; resolves with its index once it answers /health.
   */
  async addStorage(): Promise<number> {
    const i = this.storageNodes.length;
    this.storageNodes.push(await this.startStorageMember(`storage-${i}`, i));
    return i;
  }

  /**
   * Start storage node i in the original form CONTROLLER_HOST:PORT OWN_HOST:PORT (its id
   * defaults to storage-HOST-PORT), or behind its own links (storageLinks): advertised at the
   * inbound relay's port, listening on `--port`, reaching the controller through a relay.
   */
  private async startStorageMember(name: string, i: number): Promise<Member> {
    const extra = this.opts.storageArgs?.(i) ?? [];
    const env = this.opts.storageEnv?.(i);
    const ctrl = hostPort(this.controllerNode.port);
    let links: StorageLinks | undefined;
    if (this.opts.storageLinks) {
      links = { inbound: await TcpProxy.start(), controller: await TcpProxy.start(this.controllerNode.port) };
      this.linkRelays.push(links.inbound, links.controller);
    }
    const argsFor = (port: number) => {
      if (!links) return [ctrl, hostPort(port), ...extra];
      links.inbound.setTarget(port);
      return [hostPort(links.controller.port), hostPort(links.inbound.port), '--port', String(port), ...extra];
    };
    const idFor = (port: number) => defaultId('storage', links ? links.inbound.port : port);
    const started = await startListeningApp({
      app: 'storage', name, logDir: this.logDir, argsFor, timeoutMs: this.opts.timeoutMs ?? 30_000, env,
      healthy: (h, port) => h.id === idFor(port),
    });
    return { ...started, app: 'storage', name, argsFor, id: idFor(started.port), links, env };
  }

  /**
   * Cut storage node i off the cluster (needs storageLinks): nobody reaches it by its
   * advertised address and its heartbeats stop reaching the controller. The test still reaches
   * it directly (storageUrl).
   */
  cutStorage(i: number): void {
    const links = this.linksOf(i);
    links.inbound.cut();
    links.controller.cut();
  }

  /** Undo cutStorage. */
  healStorage(i: number): void {
    const links = this.linksOf(i);
    links.inbound.heal();
    links.controller.heal();
  }

  /**
   * SIGSTOP storage node i (by its PID): it keeps its sockets but answers nothing until
   * resumeStorage, like a hung process or a long pause. Its exit meanwhile is still a crash.
   */
  pauseStorage(i: number): void {
    const m = this.storageAt(i);
    if (!m.proc.running) throw new Error(`${m.name} is not running; cannot pause it`);
    process.kill(m.proc.pid, 'SIGSTOP');
    this.paused.add(m.proc);
  }

  /** SIGCONT after pauseStorage. */
  resumeStorage(i: number): void {
    const proc = this.storageAt(i).proc;
    this.paused.delete(proc);
    if (proc.running) process.kill(proc.pid, 'SIGCONT');
  }

  /** Continue paused processes (a stopped process handles SIGTERM only once continued) and close the relays. */
  private undoFaults(): void {
    for (const proc of this.paused) if (proc.running) process.kill(proc.pid, 'SIGCONT');
    this.paused.clear();
    for (const relay of this.linkRelays) void relay.close();
  }

  private linksOf(i: number): StorageLinks {
    const m = this.storageAt(i);
    if (!m.links) throw new Error(`${m.name} has no links to cut: start the cluster with storageLinks: true`);
    return m.links;
  }

  /** Stop the controller by its PID (SIGTERM by default) and wait until it has exited. */
  async stopController(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    this.controllerNode.proc.signal(signal);
    return this.controllerNode.proc.waitExit(10_000);
  }

  /** Start the controller again on the same port with the same flags. */
  async restartController(): Promise<void> {
    const m = this.controllerNode;
    if (m.proc.running) throw new Error(`controller is still running (pid ${m.proc.pid}); stop it first`);
    const started = await startListeningApp({ app: 'controller', name: 'controller', logDir: this.logDir, argsFor: m.argsFor, port: m.port, timeoutMs: this.opts.timeoutMs ?? 30_000 });
    this.controllerNode = { ...m, proc: started.proc };
  }

  // ---- waiting ----

  private async waitFormed(timeoutMs: number): Promise<void> {
    const expected = this.members().filter((m) => m.app !== 'controller').map((m) => m.id);
    await waitFor(() => this.clusterView(), {
      what: `the controller to form the table with ${expected.length} registered nodes`,
      timeoutMs,
      until: (v) => v.formed && v.epoch >= 1 && expected.every((id) => v.nodes.some((n) => n.id === id && n.state === 'up')),
      abortIf: () => this.crashReport(),
    });
    await Promise.all(this.members().filter((m) => m.app !== 'controller').map((m) => this.waitNodeEpoch(m, timeoutMs)));
  }

  private waitNodeEpoch(m: Member, timeoutMs: number): Promise<NodeHealth> {
    return waitFor(() => getJson<NodeHealth>(`${m.url}/health`), {
      what: `${m.name} (${m.url}) to report table epoch >= 1 on /health`,
      timeoutMs,
      until: (h) => h.status === 'ok' && h.id === m.id && h.epoch >= 1,
      abortIf: () => this.crashReport(),
    });
  }

  /** GET /health on every running app; the statuses by name. */
  async healthStatuses(): Promise<Record<string, number | string>> {
    const out: Record<string, number | string> = {};
    await Promise.all(
      this.members().map(async (m) => {
        try {
          out[m.name] = (await get(`${m.url}/health`)).status;
        } catch (err) {
          out[m.name] = (err as Error).message;
        }
      }),
    );
    return out;
  }

  private crashReport(): string | null {
    const c = this.crashes();
    return c.length ? c.map((x) => `${x.name} ${describeExit(x.status)}`).join(', ') : null;
  }

  // ---- logs and teardown ----

  /** The tail of every process's logs, for failure messages. */
  logTails(lines = 15): string {
    return [`==== logs in ${this.logDir}`, ...this.members().map((m) => m.proc.tail(lines))].join('\n');
  }

  /** Run `fn`; when it fails, keep the logs and append their tails to the error. */
  async withLogsOnFailure<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.failed = true;
      const e = err instanceof Error ? err : new Error(String(err));
      const tails = `\n${this.logTails()}`;
      e.message += tails;
      throw e;
    }
  }

  /**
   * Stop every process (SIGTERM, SIGKILL after a grace period) and check that each has exited.
   * Logs are removed unless something failed (or FOG_E2E_KEEP_LOGS is set).
   */
  async stop(): Promise<Array<{ name: string; status: ExitStatus }>> {
    if (this.stopped) return [];
    this.stopped = true;
    this.undoFaults();
    const members = this.members();
    const crashed = this.crashes();
    await stopChildren(members.map((m) => m.proc), STOP_GRACE_MS);
    const statuses = await Promise.all(members.map(async (m) => ({ name: m.name, status: await m.proc.exited })));
    const alive = members.filter((m) => m.proc.running);
    if (alive.length) throw new Error(`processes still running after stop: ${alive.map((m) => `${m.name} pid ${m.proc.pid}`).join(', ')}`);
    if (this.failed || crashed.length) process.stderr.write(`e2e: cluster logs kept in ${this.logDir}${crashed.length ? ` (crashed: ${crashed.map((c) => `${c.name} ${describeExit(c.status)}`).join(', ')})` : ''}\n`);
    else removeTempDir(this.logDir);
    return statuses;
  }

  private members(): Member[] {
    return [this.controllerNode, ...this.storageNodes, ...this.frontendNodes];
  }

  private storageAt(i: number): Member {
    const m = this.storageNodes[i];
    if (!m) throw new Error(`no storage node ${i} (cluster has ${this.storageNodes.length})`);
    return m;
  }

  private frontendAt(i: number): Member {
    const m = this.frontendNodes[i];
    if (!m) throw new Error(`no frontend ${i} (cluster has ${this.frontendNodes.length})`);
    return m;
  }
}

export function defaultId(app: 'storage' | 'frontend', port: number): string {
  return `${app}-127.0.0.1-${port}`;
}
