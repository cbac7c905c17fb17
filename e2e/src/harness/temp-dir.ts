import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory os.tmpdir()/fog-e2e-XXXXXX for one test's or one cluster's logs. */
export function makeTempDir(label = ''): string {
  const safe = label.replace(/[^a-zA-Z0-9_-]+/g, '-').slice(0, 40);
  return fs.mkdtempSync(path.join(os.tmpdir(), `fog-e2e-${safe ? `${safe}-` : ''}`));
}

/** Remove a directory made by makeTempDir, unless FOG_E2E_KEEP_LOGS is set. */
export function removeTempDir(dir: string): void {
  if (process.env.FOG_E2E_KEEP_LOGS) return;
  fs.rmSync(dir, { recursive: true, force: true });
}

export { tailFile } from '@fog/launcher';
