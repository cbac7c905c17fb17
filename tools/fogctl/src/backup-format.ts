import type { ScanItem, RestoreRequestEntry } from '@fog/protocol';

/**
 * A backup file is JSON lines: a header, one line per key (its version and value, as a scan
 * with values lists it), and a trailer with the count, so that a cut-short file is told apart
 * from a complete one.
 */
export const BACKUP_FORMAT = 'velour-fog-backup';
export const BACKUP_FORMAT_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  digits: number;
  partitions: number;
  epoch: number;
  startedAtMs: number;
}

export interface BackupTrailer {
  end: true;
  keys: number;
  valueBytes: number;
  finishedAtMs: number;
}

export type BackupLine =
  | { kind: 'header'; header: BackupHeader }
  | { kind: 'entry'; entry: RestoreRequestEntry }
  | { kind: 'trailer'; trailer: BackupTrailer };

export function headerLine(h: Omit<BackupHeader, 'format' | 'formatVersion'>): string {
  return `${JSON.stringify({ format: BACKUP_FORMAT, formatVersion: BACKUP_FORMAT_VERSION, ...h })}\n`;
}

export function entryLine(item: ScanItem): string {
  if (item.value === undefined) throw new Error('a backup entry needs its value');
  const e: RestoreRequestEntry = {
    key: item.key, version: item.version, value: item.value, encoding: item.encoding ?? 'utf8', ...(item.expiresAtMs !== undefined ? { expiresAtMs: item.expiresAtMs } : {}),
  };
  return `${JSON.stringify(e)}\n`;
}

export function trailerLine(t: Omit<BackupTrailer, 'end'>): string {
  return `${JSON.stringify({ end: true, ...t })}\n`;
}

/** One line of a backup file, or a message saying why it is not one. `first`: the header is expected. */
export function parseBackupLine(text: string, first: boolean): BackupLine | { kind: 'bad'; message: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { kind: 'bad', message: 'not JSON' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { kind: 'bad', message: 'not a JSON object' };
  if (first) {
    if (o.format !== BACKUP_FORMAT) return { kind: 'bad', message: `not a ${BACKUP_FORMAT} file (no header)` };
    if (o.formatVersion !== BACKUP_FORMAT_VERSION) return { kind: 'bad', message: `format version ${String(o.formatVersion)} is not ${BACKUP_FORMAT_VERSION}` };
    return { kind: 'header', header: o as unknown as BackupHeader };
  }
  if (o.end === true) {
    if (!Number.isSafeInteger(o.keys)) return { kind: 'bad', message: 'a trailer without a key count' };
    return { kind: 'trailer', trailer: o as unknown as BackupTrailer };
  }
  if (typeof o.key !== 'string' || typeof o.version !== 'string' || typeof o.value !== 'string' || (o.encoding !== 'utf8' && o.encoding !== 'base64')) {
    return { kind: 'bad', message: 'an entry needs key, version, value and encoding' };
  }
  if (o.expiresAtMs !== undefined && !Number.isSafeInteger(o.expiresAtMs)) return { kind: 'bad', message: 'expiresAtMs must be a unix time in ms' };
  return {
    kind: 'entry',
    entry: { key: o.key, version: o.version, value: o.value, encoding: o.encoding, ...(o.expiresAtMs !== undefined ? { expiresAtMs: o.expiresAtMs as number } : {}) },
  };
}
