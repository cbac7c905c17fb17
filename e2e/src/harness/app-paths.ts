import fs from 'node:fs';
import path from 'node:path';

export type AppName = 'controller' | 'storage' | 'frontend';

/** Workspace root: e2e/src/harness -> ../../.. */
export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Where the built apps are: <root>/dist/apps, or FOG_E2E_DIST_DIR (a directory holding <app>/main.js). */
export function distAppsDir(): string {
  return process.env.FOG_E2E_DIST_DIR ? path.resolve(process.env.FOG_E2E_DIST_DIR) : path.join(WORKSPACE_ROOT, 'dist', 'apps');
}

/** The built bundle of an app; throws with the build command when it is missing. */
export function appMain(app: AppName): string {
  const main = path.join(distAppsDir(), app, 'main.js');
  if (!fs.existsSync(main)) {
    throw new Error(
      `${main} is missing: build the apps first with\n` +
        '  NX_DAEMON=false npx nx run-many -t build --projects=controller,frontend,storage --output-style=static',
    );
  }
  return main;
}
