import fs from 'node:fs';

/** Disk faults a test can switch on: a failing fsync, a full disk, a failing write. */
export type DiskFault = 'fsync-eio' | 'write-enospc' | 'write-eio';
export const DISK_FAULTS: readonly DiskFault[] = ['fsync-eio', 'write-enospc', 'write-eio'];

/**
 * TEST ONLY. With `--fault-inject-file PATH` (or FOG_FAULT_INJECT_FILE), every log write and
 * fsync first reads PATH: when it names a fault (e.g. `fsync-eio`), the operation fails as the
 * kernel would fail it (EIO, ENOSPC). The file can be written and removed while the node runs,
 * so a test turns a fault on and off without extra tools (strace, tmpfs). Without the flag
 * nothing is read and nothing can be injected.
 */
export class FaultInjector {
  constructor(readonly file: string | undefined) {}

  get enabled(): boolean {
    return this.file !== undefined;
  }

  active(fault: DiskFault): boolean {
    if (!this.file) return false;
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return false;
    }
    return text.split(/\s+/).includes(fault);
  }

  /** Throw the errno error the fault stands for, when it is active. */
  check(op: 'write' | 'fsync'): void {
    if (op === 'fsync' && this.active('fsync-eio')) throw errnoError('EIO', 'fsync', -5);
    if (op === 'write' && this.active('write-enospc')) throw errnoError('ENOSPC', 'write', -28);
    if (op === 'write' && this.active('write-eio')) throw errnoError('EIO', 'write', -5);
  }
}

function errnoError(code: string, syscall: string, errno: number): NodeJS.ErrnoException {
  const e = new Error(`${code}: injected fault, ${syscall}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.errno = errno;
  return e;
}
