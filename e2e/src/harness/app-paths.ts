import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir } from './temp-dir';

export type AppName = 'controller' | 'storage' | 'frontend';
export const APP_NAMES: readonly AppName[] = ['controller', 'storage', 'frontend'];

/** Workspace root: e2e/src/harness -> ../../.. */
export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');

const BUILD_HINT = 'build the apps first with\n  NX_DAEMON=false npx nx run-many -t build --projects=controller,frontend,storage --output-style=static';

/** Where the built apps are: <root>/dist/apps, or FOG_E2E_DIST_DIR (a directory holding <app>/main.js). */
export function distAppsDir(): string {
  return process.env.FOG_E2E_DIST_DIR ? path.resolve(process.env.FOG_E2E_DIST_DIR) : path.join(WORKSPACE_ROOT, 'dist', 'apps');
}

let snapshotDir: string | null = null;

/**
 * The bundle of an app, from a private copy of dist/apps taken the first time any app is
 * started in this test file. Every process of a run then runs the same build even while
 * someone rebuilds dist concurrently (a rebuild deletes and rewrites the bundles). The copies
 * find their dependencies through NODE_PATH (see appNodePath).
 */
export function appMain(app: AppName): string {
  if (!snapshotDir) snapshotDir = snapshotDist();
  return path.join(snapshotDir, app, 'main.js');
}

/** NODE_PATH for the copied bundles: the workspace's node_modules. */
export function appNodePath(): string {
  return path.join(WORKSPACE_ROOT, 'node_modules');
}

/** Remove the private copy of the bundles (the next appMain takes a fresh one). */
export function releaseDistSnapshot(): void {
  if (snapshotDir) removeTempDir(snapshotDir);
  snapshotDir = null;
}

function snapshotDist(): string {
  const source = distAppsDir();
  const missing = APP_NAMES.filter((a) => !fs.existsSync(path.join(source, a, 'main.js')));
  if (missing.length) throw new Error(`${missing.map((a) => path.join(source, a, 'main.js')).join(', ')} missing: ${BUILD_HINT}`);
  const dir = makeTempDir('dist');
  try {
    for (const app of APP_NAMES) {
      fs.mkdirSync(path.join(dir, app));
      // main.js and whatever else the bundle loads beside it (the controller's placement worker).
      for (const file of fs.readdirSync(path.join(source, app)).filter((f) => f.endsWith('.js') || f.endsWith('.js.map'))) {
        fs.copyFileSync(path.join(source, app, file), path.join(dir, app, file));
      }
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not copy the app bundles from ${source} (a concurrent rebuild?): ${(err as Error).message}\n${BUILD_HINT}`);
  }
  return dir;
}
