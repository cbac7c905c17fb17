/**
 * Which frontend a request goes to: round robin over the ones not marked down, failing over
 * to the next on a connection failure; a failed frontend is skipped for `downForMs`, then
 * tried again. Pure: time is passed in.
 */
export class FrontendPool {
  private next = 0;
  private readonly downUntil = new Map<string, number>();
  private list: string[];

  constructor(frontends: readonly string[], private readonly downForMs: number) {
    if (frontends.length === 0) throw new Error('at least one frontend address is required');
    this.list = [...frontends];
  }

  get frontends(): readonly string[] {
    return this.list;
  }

  /**
   * Add frontends learnt from the cluster (discovery); the ones given at the start are never
   * dropped, so a client always keeps the addresses it was configured with. Returns those added.
   */
  add(frontends: readonly string[]): string[] {
    const added = frontends.filter((f) => !this.list.includes(f));
    this.list = [...this.list, ...added];
    return added;
  }

  /** The order to try frontends in for one request: healthy ones first, from the next in turn. */
  order(nowMs: number): string[] {
    const n = this.list.length;
    const start = this.next % n;
    this.next = (start + 1) % n;
    const rotated = Array.from({ length: n }, (_, i) => this.list[(start + i) % n]);
    const up = rotated.filter((f) => (this.downUntil.get(f) ?? 0) <= nowMs);
    const down = rotated.filter((f) => (this.downUntil.get(f) ?? 0) > nowMs);
    return [...up, ...down];
  }

  markDown(frontend: string, nowMs: number): void {
    this.downUntil.set(frontend, nowMs + this.downForMs);
  }

  markUp(frontend: string): void {
    this.downUntil.delete(frontend);
  }
}
