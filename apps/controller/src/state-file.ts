import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { applyStateDelta, diffState, isEmptyDelta, type ControllerState, type StateDelta } from '@fog/cluster';

const FILE_NAME = 'controller-state.json';
const LOG_NAME = 'controller-state.log';

/**
 * Records appended to the log before the next save writes a full snapshot instead. Bounds the
 * replay at start. Unit: records.
 */
export const STATE_LOG_RECORDS_MAX = 256;
/** Log size after which the next save writes a full snapshot. Unit: bytes. */
export const STATE_LOG_BYTES_MAX = 32 * 1024 * 1024;
/** Hex digits of SHA-1 that check one log record. */
const RECORD_CHECK_HEX = 16;

interface LogRecord {
  seq: number;
  delta: StateDelta;
}

type SnapshotOnDisk = ControllerState & { stateLogSeq?: number };

function check(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, RECORD_CHECK_HEX);
}

/**
 * The controller's state on disk: a full snapshot, replaced atomically (temporary file, fsync,
 * rename, fsync the folder), plus a log of changes since it (one checked JSON line per save,
 * fsynced). A save appends only what changed — at D=4 a few kilobytes for an epoch instead of
 * rewriting 16 MB — and every STATE_LOG_RECORDS_MAX records (or STATE_LOG_BYTES_MAX) the log is
 * folded into a new snapshot. A torn last record (a crash mid-append) is dropped on load; a
 * damaged record before the last one is refused.
 */
export class StateFile {
  readonly file: string;
  readonly logFile: string;
  private saved: ControllerState | null = null;
  private logRecords = 0;
  private logBytes = 0;
  /** Sequence number of the last record written; a snapshot remembers the last one it contains. */
  private seq = 0;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, FILE_NAME);
    this.logFile = path.join(dir, LOG_NAME);
  }

  load(): ControllerState | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    // A corrupt state file is not guessed around: the operator decides.
    let state: ControllerState;
    try {
      state = JSON.parse(text) as ControllerState;
    } catch {
      throw new Error(`${this.file} is not valid JSON; move it away to start a new cluster`);
    }
    this.seq = (state as SnapshotOnDisk).stateLogSeq ?? 0;
    const { state: replayed, records, bytes } = this.replay(state);
    this.saved = replayed;
    this.logRecords = records;
    this.logBytes = bytes;
    return replayed;
  }

  /** Records what changed since the last save (or a snapshot when due). */
  save(state: ControllerState): void {
    const previous = this.saved;
    const snapshotDue =
      previous === null || (previous.table === null && state.table !== null) ||
      this.logRecords >= STATE_LOG_RECORDS_MAX || this.logBytes >= STATE_LOG_BYTES_MAX;
    if (snapshotDue) {
      this.writeSnapshot(state);
    } else {
      const delta = diffState(previous, state);
      if (!isEmptyDelta(delta)) this.append(delta);
    }
    this.saved = state;
  }

  private replay(snapshot: ControllerState): { state: ControllerState; records: number; bytes: number } {
    let text: string;
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: snapshot, records: 0, bytes: 0 };
      throw err;
    }
    const lines = text.split('\n');
    let state = snapshot;
    let records = 0;
    let bytes = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line === '') continue;
      const space = line.indexOf(' ');
      const body = line.slice(space + 1);
      const whole = space === RECORD_CHECK_HEX && check(body) === line.slice(0, space);
      const last = lines.slice(i + 1).every((rest) => rest === '');
      if (!whole) {
        if (last) break; // A torn last record: the save it belonged to never completed.
        throw new Error(`${this.logFile} record ${records + 1} is damaged; move the log away to start from the snapshot alone`);
      }
      const record = JSON.parse(body) as LogRecord;
      // Records already folded into the snapshot (a crash between writing it and removing the log).
      if (record.seq <= this.seq) continue;
      state = applyStateDelta(state, record.delta);
      this.seq = record.seq;
      records += 1;
      bytes += line.length + 1;
    }
    return { state, records, bytes };
  }

  private append(delta: StateDelta): void {
    const record: LogRecord = { seq: this.seq + 1, delta };
    const body = JSON.stringify(record);
    const line = `${check(body)} ${body}\n`;
    const fd = fs.openSync(this.logFile, 'a');
    try {
      fs.writeSync(fd, line);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.seq = record.seq;
    this.logRecords += 1;
    this.logBytes += Buffer.byteLength(line);
  }

  private writeSnapshot(state: ControllerState): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      const onDisk: SnapshotOnDisk = { ...state, stateLogSeq: this.seq };
      fs.writeSync(fd, JSON.stringify(onDisk));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    // The snapshot holds everything the log said: start a new log. After a crash between the
    // rename and the removal, load skips the records the snapshot already holds (by sequence).
    fs.rmSync(this.logFile, { force: true });
    const dirFd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
    this.logRecords = 0;
    this.logBytes = 0;
  }
}
