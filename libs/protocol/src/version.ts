/**
 * A version: hybrid logical clock timestamp (physical ms + logical counter) and the id of the
 * frontend that stamped it.
 */
export interface Timestamp {
  readonly ms: number;
  readonly c: number;
}

export interface Version extends Timestamp {
  /** Writer (frontend) id. */
  readonly w: string;
}

const WRITER_ID_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function isValidWriterId(id: string): boolean {
  return WRITER_ID_RE.test(id);
}

/** `<ms>.<counter>.<writer>`: readable, sortable by eye, safe in a header. */
export function formatVersion(v: Version): string {
  return `${v.ms}.${v.c}.${v.w}`;
}

export function parseVersion(text: string): Version | null {
  const m = /^(\d{1,16})\.(\d{1,10})\.(.+)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]);
  const c = Number(m[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(c) || !isValidWriterId(m[3])) return null;
  return { ms, c, w: m[3] };
}

/** Version order (timestamp, then writer id): <0 when a is older than b, >0 when newer, 0 when equal. */
export function compareVersions(a: Version, b: Version): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  if (a.w !== b.w) return a.w < b.w ? -1 : 1;
  return 0;
}

export function isTimestamp(x: unknown): x is Timestamp {
  const t = x as Timestamp;
  return (
    typeof t === 'object' && t !== null &&
    Number.isSafeInteger(t.ms) && t.ms >= 0 &&
    Number.isSafeInteger(t.c) && t.c >= 0
  );
}

export function isVersion(x: unknown): x is Version {
  return isTimestamp(x) && typeof (x as Version).w === 'string' && isValidWriterId((x as Version).w);
}
