import type { Entry } from '@fog/lww';
import { SNAPSHOT_FORMAT_VERSION, type LogRecord } from './record';
import type { ScanResult } from './scan';

/**
 * A snapshot is a file of records: snap-begin, then horizon and entry records, then snap-end
 * with the counts. It is written to a temporary name, fsynced and renamed, so a crash leaves the
 * previous snapshot in place; the counts in snap-end tell a complete file from a damaged one.
 */
export interface SnapshotContents {
  createdAtMs: number;
  /** The first log segment the snapshot does not cover: replay starts there. */
  firstSegment: number;
  entries: Array<{ partition: number; key: string; entry: Entry }>;
  horizons: Array<{ partition: number; ms: number }>;
  /** What is wrong with the file; empty for a sound snapshot. */
  problems: string[];
}

export function readSnapshot(scan: ScanResult): SnapshotContents {
  const problems: string[] = [];
  const out: SnapshotContents = { createdAtMs: 0, firstSegment: 0, entries: [], horizons: [], problems };
  const recs = scan.records;
  const begin = recs[0];
  if (!begin || begin.kind !== 'snap-begin') {
    problems.push('the file does not start with a snapshot header');
  } else {
    if (begin.formatVersion !== SNAPSHOT_FORMAT_VERSION) problems.push(`snapshot format ${begin.formatVersion} is not ${SNAPSHOT_FORMAT_VERSION}`);
    out.createdAtMs = begin.createdAtMs;
    out.firstSegment = begin.firstSegment;
  }
  let end: Extract<LogRecord, { kind: 'snap-end' }> | null = null;
  for (let i = begin?.kind === 'snap-begin' ? 1 : 0; i < recs.length; i++) {
    const r = recs[i];
    if (end) {
      problems.push('records follow the snapshot trailer');
      break;
    }
    if (r.kind === 'entry') out.entries.push({ partition: r.partition, key: r.key, entry: r.entry });
    else if (r.kind === 'horizon') out.horizons.push({ partition: r.partition, ms: r.ms });
    else if (r.kind === 'snap-end') end = r;
    else problems.push(`unexpected ${r.kind} record in a snapshot`);
  }
  if (!end) problems.push('the snapshot trailer is missing (the file is incomplete)');
  else if (end.entries !== out.entries.length || end.horizons !== out.horizons.length) {
    problems.push(`the trailer counts ${end.entries} entries and ${end.horizons} horizons, the file holds ${out.entries.length} and ${out.horizons.length}`);
  }
  if (scan.corrupt.length) problems.push(`${scan.corrupt.length} corrupt record(s)`);
  if (scan.tornBytes) problems.push(`${scan.tornBytes} bytes of damage at the end`);
  return out;
}

/** Log segment file names: log-0000000001.fog, ordered by name as by number. */
export const SNAPSHOT_FILE = 'snapshot.fog';
export const SNAPSHOT_TEMP_FILE = 'snapshot.fog.tmp';
const SEGMENT_RE = /^log-(\d{10})\.fog$/;

export function segmentFileName(seq: number): string {
  if (!(Number.isInteger(seq) && seq >= 1 && seq <= 0xffffffff)) throw new RangeError(`segment number ${seq} out of range`);
  return `log-${String(seq).padStart(10, '0')}.fog`;
}

export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : null;
}
