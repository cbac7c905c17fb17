/**
 * Which frontend a request goes to: round robin over the ones not marked down, failing over
 * to the next on a connection failure; a failed frontend is skipped for `downForMs`, then
 * tried again. Pure: time is passed in.
 */
export class FrontendPool {
  private next = 0;
  private readonly downUntil = new Map<string, number>();

  constructor(readonly frontends: readonly string[], private readonly downForMs: number) {
    if (frontends.length === 0) throw new Error('at least one frontend address is required');
  }

  /** The order to try frontends in for one request: healthy ones first, from the next in turn. */
  order(nowMs: number): string[] {
    const n = this.frontends.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    const rotated = Array.from({ length: n }, (_, i) => this.frontends[(start + i) % n]);
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
