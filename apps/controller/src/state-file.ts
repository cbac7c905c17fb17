import fs from 'node:fs';
import path from 'node:path';
import type { ControllerState } from '@fog/cluster';

const FILE_NAME = 'controller-state.json';

/**
 * The controller's state on disk as one file, replaced atomically: write a temporary file,
 * fsync it, rename it over the old one, fsync the folder. A crash at any point leaves either
 * the old or the new state, never a mix.
 */
export class StateFile {
  readonly file: string;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, FILE_NAME);
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
    try {
      return JSON.parse(text) as ControllerState;
    } catch {
      throw new Error(`${this.file} is not valid JSON; move it away to start a new cluster`);
    }
  }

  save(state: ControllerState): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(state));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dirFd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }
}
