import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What the README uses after ./runlocal.sh: the three apps, fogctl and the load tool. */
export const BUILD_PROJECTS = ['controller', 'frontend', 'storage', 'fogctl', 'bench'] as const;
export const BUILD_OUTPUTS = [
  'dist/apps/controller/main.js', 'dist/apps/controller/placement-worker.js', 'dist/apps/frontend/main.js', 'dist/apps/storage/main.js',
  'dist/tools/fogctl/main.js', 'dist/tools/bench/main.js',
] as const;
/** Folders whose sources are build inputs. */
const SOURCE_DIRS = ['apps', 'libs', 'tools'];
/** Test-only files are not build inputs. */
const TEST_ONLY = /(\.spec\.[cm]?[jt]sx?|\.test\.[cm]?[jt]sx?|(^|\/)jest\.config\.[cm]?[jt]s)$/;

/** Why the build is out of date (an output missing, a source newer than the oldest output), or null. */
export function staleReason(root: string): string | null {
  let oldestMs = Infinity;
  for (const out of BUILD_OUTPUTS) {
    let st: fs.Stats;
    try {
      st = fs.statSync(path.join(root, out));
    } catch {
      return `${out} is missing`;
    }
    oldestMs = Math.min(oldestMs, st.mtimeMs);
  }
  const walk = (dir: string): string | null => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      return null;
    }
    for (const e of entries) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === 'node_modules') continue;
        const found = walk(rel);
        if (found) return found;
      } else if (e.isFile() && !TEST_ONLY.test(rel) && fs.statSync(path.join(root, rel)).mtimeMs > oldestMs) {
        return `${rel} is newer than the build`;
      }
    }
    return null;
  };
  for (const dir of SOURCE_DIRS) {
    const found = walk(dir);
    if (found) return found;
  }
  return null;
}

/**
 * Build BUILD_PROJECTS with Nx (no daemon), output shown as it comes. `onChild` gets the build
 * process so that a signal can stop it. Resolves with an error message, or null on success.
 */
export async function buildAll(root: string, onChild: (child: ChildProcess | null) => void): Promise<string | null> {
  const child = spawn('npx', ['--no-install', 'nx', 'run-many', '-t', 'build', `--projects=${BUILD_PROJECTS.join(',')}`, '--output-style=static'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  onChild(child);
  const status = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code }));
  });
  onChild(null);
  if (status.error) return `could not run nx: ${status.error.message}`;
  if (status.code !== 0) return 'build failed';
  for (const out of BUILD_OUTPUTS) if (!fs.existsSync(path.join(root, out))) return `build did not produce ${out}`;
  // Nx can restore unchanged outputs from its cache without rewriting them: touch them so the
  // staleness check holds until the sources change.
  const now = new Date();
  for (const out of BUILD_OUTPUTS) fs.utimesSync(path.join(root, out), now, now);
  return null;
}
