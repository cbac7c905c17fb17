import { compareVersions, WATCH_LIMITS, type Version } from '@fog/protocol';

export interface WatchLimits {
  watchersMax: number;
}

interface Watch<T> {
  id: number;
  key: string;
  /** Woken by any version newer than this; null: by any version at all. */
  after: Version | null;
  deadlineMs: number;
  token: T;
}

/**
 * The watches of one frontend, keyed by the key they watch: which to wake when a version of a
 * key is seen, which ran out of time, which keys to read. No timers or I/O: the app reads the
 * keys, passes the versions and the time in, and answers the watches this returns.
 */
export class WatchRegistry<T> {
  private readonly byKey = new Map<string, Map<number, Watch<T>>>();
  private readonly byId = new Map<number, Watch<T>>();
  private nextId = 1;

  constructor(private readonly limits: WatchLimits = WATCH_LIMITS) {}

  get size(): number {
    return this.byId.size;
  }

  /** Register a watch; null when the registry is full (the caller refuses the request). */
  add(key: string, after: Version | null, deadlineMs: number, token: T): number | null {
    if (this.byId.size >= this.limits.watchersMax) return null;
    const w: Watch<T> = { id: this.nextId++, key, after, deadlineMs, token };
    let forKey = this.byKey.get(key);
    if (!forKey) this.byKey.set(key, (forKey = new Map()));
    forKey.set(w.id, w);
    this.byId.set(w.id, w);
    return w.id;
  }

  /** Forget a watch (answered, or its client went away). */
  remove(id: number): void {
    const w = this.byId.get(id);
    if (!w) return;
    this.byId.delete(id);
    const forKey = this.byKey.get(w.key)!;
    forKey.delete(id);
    if (forKey.size === 0) this.byKey.delete(w.key);
  }

  /** Keys with watches: what the app reads each poll. */
  keys(): string[] {
    return [...this.byKey.keys()];
  }

  watched(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The key's current version was read (null: it has none): remove and return the watches it wakes. */
  observe(key: string, current: Version | null): T[] {
    const forKey = this.byKey.get(key);
    if (!forKey || current === null) return [];
    const woken: T[] = [];
    for (const w of [...forKey.values()]) {
      if (w.after === null || compareVersions(current, w.after) > 0) {
        this.remove(w.id);
        woken.push(w.token);
      }
    }
    return woken;
  }

  /** Remove and return the watches whose wait ended at nowMs. */
  expire(nowMs: number): T[] {
    const out: T[] = [];
    for (const w of [...this.byId.values()]) {
      if (w.deadlineMs <= nowMs) {
        this.remove(w.id);
        out.push(w.token);
      }
    }
    return out;
  }
}
