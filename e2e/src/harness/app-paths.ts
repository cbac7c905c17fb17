import fs from 'node:fs';
import path from 'node:path';

export type AppName = 'controller' | 'storage' | 'frontend';

/** Workspace root: e2e/src/harness -> ../../.. */
export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The built bundle of an app; throws with the build command when it is missing. */
export function appMain(app: AppName): string {
  const main = path.join(WORKSPACE_ROOT, 'dist', 'apps', app, 'main.js');
  if (!fs.existsSync(main)) {
    throw new Error(
      `${main} is missing: build the apps first with\n` +
        '  NX_DAEMON=false npx nx run-many -t build --projects=controller,frontend,storage --output-style=static',
    );
  }
  return main;
}
