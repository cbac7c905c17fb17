import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_ROOT, installProcessSafetyNet, removeTempDir, useCluster } from './harness';

installProcessSafetyNet();

const run = promisify(execFile);
const PACKAGE_DIR = path.join(WORKSPACE_ROOT, 'dist', 'client-package');
const PACKAGE_NAME = '@velour-fog/client';

/** Run a command; on failure the error carries its output. */
async function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.homedir() }, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const CJS_SCRIPT = `
const { FogClient, FogClientError } = require('${PACKAGE_NAME}');
(async () => {
  const fog = new FogClient({ frontends: [process.argv[2]], discover: true });
  const prefix = process.argv[3];
  const { version } = await fog.put(prefix + 'a', 'alpha');
  await fog.put(prefix + 'b', Buffer.from([0, 1, 255]));
  const got = await fog.get(prefix + 'a');
  let conflict = null;
  try { await fog.put(prefix + 'a', 'x', { ifNoneMatch: '*' }); } catch (e) { conflict = e instanceof FogClientError ? e.code : 'other'; }
  const keys = [];
  for await (const item of fog.scanAll({ prefix, keysOnly: true })) keys.push(item.key);
  const batch = await fog.batch([{ op: 'get', key: prefix + 'b' }]);
  const topo = await fog.topology();
  console.log(JSON.stringify({ topo, version, value: got.value.toString(), sameVersion: got.version === version, conflict, keys, bytes: [...batch[0].value], frontends: fog.frontends }));
  fog.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

const ESM_SCRIPT = `
import { FogClient, FogClientError } from '${PACKAGE_NAME}';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('${PACKAGE_NAME}');
const fog = new FogClient({ frontends: [process.argv[2]] });
const got = await fog.get(process.argv[3] + 'a');
const missing = await fog.get(process.argv[3] + 'nothing');
console.log(JSON.stringify({ value: got.value.toString(), missing, sameClass: cjs.FogClient === FogClient && cjs.FogClientError === FogClientError }));
fog.close();
`;

// Type-checked against the package's declarations only (no path aliases, no workspace).
const TS_CONSUMER = `
import { FogClient, type StoredValue, type ScanOptions } from '${PACKAGE_NAME}';
const fog = new FogClient({ frontends: ['127.0.0.1:1'], discover: true });
const opts: ScanOptions = { prefix: 'a', keysOnly: true };
export async function use(): Promise<string | undefined> {
  const v: StoredValue | null = await fog.get('k', { r: 'quorum' });
  const page = await fog.scan(opts);
  return v?.version ?? page.next ?? undefined;
}
`;

describe('the client package, installed outside the repository', () => {
  const { cluster, it } = useCluster({ storage: 2, frontends: 2, redundancy: 2, digits: 1, label: 'client-package' });
  let dir = '';
  beforeAll(() => {
    if (!fs.existsSync(path.join(PACKAGE_DIR, 'package.json'))) throw new Error(`${PACKAGE_DIR} is missing: build it with NX_DAEMON=false npx nx run client:build`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-client-consumer-'));
  });
  afterAll(() => removeTempDir(dir));

  it('packs with npm pack, installs offline into an empty folder, and works from CommonJS, ESM and TypeScript, discovering the other frontend', async () => {
    const packed = (await sh('npm', ['pack', '--silent', '--pack-destination', dir, PACKAGE_DIR], dir)).trim().split('\n').pop()!;
    const tarball = path.join(dir, packed);
    expect(fs.existsSync(tarball)).toBe(true);
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    await sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);
    const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', ...PACKAGE_NAME.split('/'), 'package.json'), 'utf8')) as { name: string; dependencies?: unknown };
    expect(installed.name).toBe(PACKAGE_NAME);
    // Nothing else was installed: the package carries what it needs.
    expect(fs.readdirSync(path.join(app, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual([PACKAGE_NAME.split('/')[0]]);

    fs.writeFileSync(path.join(app, 'use.cjs'), CJS_SCRIPT);
    fs.writeFileSync(path.join(app, 'use.mjs'), ESM_SCRIPT);
    const one = cluster().frontendUrl(0).replace('http://', '');
    const prefix = `pkg-${process.pid}/`;
    const cjsOut = await sh(process.execPath, ['use.cjs', one, prefix], app);
    const cjs = JSON.parse(cjsOut) as Record<string, unknown>;
    expect(cjs).toMatchObject({ value: 'alpha', sameVersion: true, conflict: 'FOG_ERR_VERSION_CONFLICT', keys: [`${prefix}a`, `${prefix}b`], bytes: [0, 1, 255] });
    // Given one frontend, the client found the other through the cluster.
    expect([...(cjs.topo as { frontends: string[] }).frontends].sort()).toEqual([cluster().frontendUrl(0), cluster().frontendUrl(1)].map((u) => u.replace('http://', '')).sort());
    expect([...(cjs.frontends as string[])].sort()).toEqual([cluster().frontendUrl(0), cluster().frontendUrl(1)].sort());

    const esm = JSON.parse(await sh(process.execPath, ['use.mjs', cluster().frontendUrl(1), prefix], app)) as Record<string, unknown>;
    expect(esm).toEqual({ value: 'alpha', missing: null, sameClass: true });

    fs.writeFileSync(path.join(app, 'consumer.ts'), TS_CONSUMER);
    const tsc = path.join(WORKSPACE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await sh(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--typeRoots', path.join(WORKSPACE_ROOT, 'node_modules', '@types'), '--types', 'node', 'consumer.ts'], app);
  }, 240_000);
});
