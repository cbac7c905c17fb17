import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, commandWorks, itWhenInstalled, readText, run } from './deploy-files';

const DIR = 'deploy/systemd';
type Unit = Record<string, Record<string, string[]>>;

/** An INI-style unit file: sections of keys, each key with every value it is given. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = unit[head[1]] = {};
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`cannot parse unit line '${line}'`);
    (section[kv[1]] ??= []).push(kv[2]);
  }
  return unit;
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse environment line '${line}'`);
    env[m[1]] = m[2];
  }
  return env;
}

const UNITS: Record<string, { app: string; env: string }> = {
  'fog-controller.service': { app: 'controller', env: 'controller.env' },
  'fog-storage@.service': { app: 'storage', env: 'storage.env' },
  'fog-frontend.service': { app: 'frontend', env: 'frontend.env' },
};

/** The cluster secret every unit loads, and the credential name it is loaded under. */
const SECRET_PATH = '/etc/velour-fog/cluster-secret';
const CREDENTIAL = 'cluster-secret';

describe('systemd units', () => {
  it('exist for every app, with an example environment file each', () => {
    const files = fs.readdirSync(path.join(ROOT, DIR)).sort();
    expect(files).toEqual(['controller.env', 'fog-controller.service', 'fog-frontend.service', 'fog-storage@.service', 'frontend.env', 'storage.env']);
  });

  it.each(Object.entries(UNITS))('%s runs its app with node as a non-root user, restarts it, and reads its environment file', (file, { app, env }) => {
    const unit = parseUnit(readText(`${DIR}/${file}`));
    expect(Object.keys(unit)).toEqual(['Unit', 'Service', 'Install']);
    const s = unit.Service;
    expect(s.ExecStart).toEqual([`/usr/bin/node /opt/velour-fog/dist/apps/${app}/main.js`]);
    expect(s.User).toEqual(['velour-fog']);
    expect(s.Restart).toEqual(['on-failure']);
    expect(s.NoNewPrivileges).toEqual(['yes']);
    expect(s.EnvironmentFile).toHaveLength(1);
    // storage-%i.env for the template: the example is storage.env.
    expect(path.basename(s.EnvironmentFile[0]).replace('-%i', '')).toBe(env);
    expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
    if (app !== 'frontend') {
      // The data folder is the one systemd creates and lets the service write (ProtectSystem=strict).
      const dataDir = s.Environment.find((e) => e.startsWith('FOG_DATA_DIR='))!.split('=')[1];
      expect(`/var/lib/${s.StateDirectory[0]}`).toBe(dataDir);
      expect(s.ProtectSystem).toEqual(['strict']);
    }
  });

  it.each(Object.entries(UNITS))('%s hands its app the root-only cluster secret file as a credential', (file) => {
    const s = parseUnit(readText(`${DIR}/${file}`)).Service;
    // LoadCredential=NAME:PATH: systemd copies the root-owned file into a directory only the
    // service reads; %d is that directory.
    expect(s.LoadCredential).toEqual([`${CREDENTIAL}:${SECRET_PATH}`]);
    expect(s.Environment.filter((e) => e.startsWith('FOG_CLUSTER_SECRET'))).toEqual([`FOG_CLUSTER_SECRET_FILE=%d/${CREDENTIAL}`]);
    expect(s.ExecStart[0]).not.toMatch(/--insecure|--cluster-secret/);
  });

  it('keep the secret out of the environment files, and give storage nodes and frontends an internal port', () => {
    for (const { env } of Object.values(UNITS)) {
      const vars = parseEnv(readText(`${DIR}/${env}`));
      // Environment files override the unit's Environment=: none may set or bypass the secret.
      expect({ env, set: Object.keys(vars).filter((k) => /SECRET|INSECURE/.test(k)) }).toEqual({ env, set: [] });
    }
    for (const env of ['storage.env', 'frontend.env']) {
      const vars = parseEnv(readText(`${DIR}/${env}`));
      const client = Number(vars.FOG_ADDRESS.split(':')[1]);
      const internal = Number(vars.FOG_INTERNAL_PORT);
      expect({ env, internal: internal > 0 && internal !== client, internalAddress: vars.FOG_INTERNAL_ADDRESS }).toEqual({ env, internal: true, internalAddress: undefined });
    }
  });

  it('example environment files set only FOG_* flags and NODE_OPTIONS, with a private listen address', () => {
    for (const { env } of Object.values(UNITS)) {
      const vars = parseEnv(readText(`${DIR}/${env}`));
      for (const k of Object.keys(vars)) expect({ env, k, ok: k.startsWith('FOG_') || k === 'NODE_OPTIONS' }).toEqual({ env, k, ok: true });
      const listen = vars.FOG_HOST ?? vars.FOG_ADDRESS?.split(':')[0];
      expect({ env, listen }).toEqual({ env, listen: expect.stringMatching(/^10\./) });
    }
    const storage = parseEnv(readText(`${DIR}/storage.env`));
    const unit = parseUnit(readText(`${DIR}/fog-storage@.service`));
    const memoryMaxBytes = Number(/^(\d+)G$/.exec(unit.Service.MemoryMax[0])?.[1]) * 1024 ** 3;
    const heapBytes = Number(/--max-old-space-size=(\d+)/.exec(storage.NODE_OPTIONS)?.[1]) * 1024 ** 2;
    expect(Number(storage.FOG_MAX_MEMORY_BYTES)).toBeLessThanOrEqual(heapBytes * 0.6);
    expect(heapBytes).toBeLessThanOrEqual(memoryMaxBytes * 0.8);
  });

  itWhenInstalled('systemd-analyze', commandWorks('systemd-analyze', ['--version']), 'Debian package systemd')('pass systemd-analyze verify', () => {
    // verify wants ExecStart to exist: check copies that run this machine's node instead.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-units-'));
    try {
      for (const file of Object.keys(UNITS)) {
        const text = readText(`${DIR}/${file}`).replace('/usr/bin/node', process.execPath);
        fs.writeFileSync(path.join(dir, file.replace('@.', '@a.')), text);
      }
      const r = run('systemd-analyze', ['verify', ...Object.keys(UNITS).map((f) => path.join(dir, f.replace('@.', '@a.')))]);
      expect(r.output).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
