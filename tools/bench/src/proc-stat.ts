import fs from 'node:fs';

/**
 * utime + stime (clock ticks) from the text of /proc/PID/stat. The command name (field 2) is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function parseProcStatTicks(text: string): number {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/PID/stat line');
  // After ") " come field 3 (state) onwards: utime is field 14, stime field 15.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in /proc/PID/stat');
  return utime + stime;
}

/** Resident set size in bytes from the text of /proc/PID/status (VmRSS, in kB). */
export function parseProcStatusRssBytes(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!m) throw new Error('no VmRSS in /proc/PID/status');
  return Number(m[1]) * 1024;
}

/** Linux's USER_HZ: 100 on every mainstream architecture (what `getconf CLK_TCK` prints). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** CPU ticks a process has used so far; NaN when it is gone (or not on Linux). */
export function cpuTicks(pid: number): number {
  try {
    return parseProcStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

export function rssBytes(pid: number): number {
  try {
    return parseProcStatusRssBytes(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return NaN;
  }
}
