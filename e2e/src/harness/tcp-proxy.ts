import net from 'node:net';
import { LOOPBACK } from './ports';

/**
 * A TCP relay on 127.0.0.1 that can cut the link it carries, the way a network partition
 * would: while cut, bytes stop flowing both ways on open connections and new connections are
 * accepted but never forwarded, so peers wait for their own timeouts (as they would for lost
 * packets) instead of seeing a clean refusal. Healing drops the stalled connections, as peers
 * that timed out would have, and forwards new ones again.
 *
 * A node advertised at the relay's port (while it listens on another) is then unreachable for
 * everyone who talks to it by its advertised address, without iptables or root.
 */
export class TcpProxy {
  private readonly pairs = new Set<{ inbound: net.Socket; outbound: net.Socket | null }>();
  private cutNow = false;
  private cuts = 0;
  private stalled = 0;

  private constructor(private readonly server: net.Server, readonly port: number, private targetPort: number | null) {}

  /** Listen on a free loopback port; forward to `targetPort` (settable later, before traffic). */
  static async start(targetPort: number | null = null): Promise<TcpProxy> {
    const server = net.createServer();
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolve());
    });
    const addr = server.address();
    if (typeof addr !== 'object' || addr === null) throw new Error('tcp proxy: could not read its port');
    const proxy = new TcpProxy(server, addr.port, targetPort);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** Where connections go (e.g. the port a restarted node listens on). */
  setTarget(port: number): void {
    this.targetPort = port;
  }

  get isCut(): boolean {
    return this.cutNow;
  }

  /** Counts for a test's summary: how often it was cut, and connections stalled by cuts. */
  stats(): { cuts: number; stalledConnections: number; open: number } {
    return { cuts: this.cuts, stalledConnections: this.stalled, open: this.pairs.size };
  }

  /** Stop forwarding: open connections stall, new ones hang. */
  cut(): void {
    if (this.cutNow) return;
    this.cutNow = true;
    this.cuts++;
    for (const pair of this.pairs) this.stall(pair);
  }

  /** Forward again; connections stalled by the cut are dropped. */
  heal(): void {
    if (!this.cutNow) return;
    this.cutNow = false;
    for (const pair of [...this.pairs]) this.drop(pair);
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(inbound: net.Socket): void {
    const pair: { inbound: net.Socket; outbound: net.Socket | null } = { inbound, outbound: null };
    this.pairs.add(pair);
    inbound.on('error', () => this.drop(pair));
    inbound.on('close', () => this.drop(pair));
    if (this.cutNow || this.targetPort === null) {
      this.stall(pair);
      return;
    }
    const outbound = net.connect({ host: LOOPBACK, port: this.targetPort });
    pair.outbound = outbound;
    outbound.on('error', () => this.drop(pair));
    outbound.on('close', () => this.drop(pair));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  private stall(pair: { inbound: net.Socket; outbound: net.Socket | null }): void {
    this.stalled++;
    pair.inbound.unpipe();
    pair.inbound.pause();
    if (pair.outbound) {
      pair.outbound.unpipe();
      pair.outbound.pause();
    }
  }

  private drop(pair: { inbound: net.Socket; outbound: net.Socket | null }): void {
    if (!this.pairs.delete(pair)) return;
    pair.inbound.destroy();
    pair.outbound?.destroy();
  }
}
