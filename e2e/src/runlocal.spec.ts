// ./runlocal.sh as a user runs it: a real cluster from the shell wrapper, talked to over HTTP and
// with fogctl, then stopped with SIGTERM; every process it started must be gone afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { busyPorts } from '@fog/launcher';
import { WORKSPACE_ROOT, childEnv, get, makeTempDir, removeTempDir, waitFor } from './harness';

const RUNLOCAL = path.join(WORKSPACE_ROOT, 'runlocal.sh');
const FOGCTL = path.join(WORKSPACE_ROOT, 'dist', 'tools', 'fogctl', 'main.js');
/**
 * Ports are picked in this range: away from the defaults (7000, 7101.., 8001..), which stay free
 * for people, and below Linux's ephemeral range (32768..), so an outgoing connection cannot take
 * one between the check and the bind.
 */
const PORT_RANGE_LOW = 20_000;
const PORT_RANGE_HIGH = 32_000;

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runlocal(args: string[]): Run {
  let out = '';
  let err = '';
  const child = spawn('bash', [RUNLOCAL, ...args], { cwd: WORKSPACE_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

/** Three free port ranges: controller, `storage` storage nodes, `frontends` frontends. */
async function pickPorts(storage: number, frontends: number): Promise<{ controller: number; storage: number; frontend: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = PORT_RANGE_LOW + Math.floor(Math.random() * (PORT_RANGE_HIGH - PORT_RANGE_LOW - 100));
    const ports = { controller: base, storage: base + 10, frontend: base + 50 };
    const all = [ports.controller, ...Array.from({ length: storage }, (_, i) => ports.storage + i), ...Array.from({ length: frontends }, (_, i) => ports.frontend + i)];
    if ((await busyPorts('127.0.0.1', all)).length === 0) return ports;
  }
  throw new Error('no free port range found');
}

/** The command line of a PID, or null once it has exited. */
function cmdline(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

describe('./runlocal.sh', () => {
  let dir: string;
  let run: Run | null = null;
  /** PIDs the run reported, for the clean-up should the test fail half-way. */
  let appPids: number[] = [];

  beforeEach(() => {
    dir = makeTempDir('runlocal');
    appPids = [];
  });

  afterEach(async () => {
    // Only what this test started: the wrapper's PID, and app PIDs whose command line still names our folder.
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    for (const pid of appPids) if (cmdline(pid)?.includes(dir)) process.kill(pid, 'SIGKILL');
    run = null;
    removeTempDir(dir);
  });

  it('refuses bad flags (exit 2) and busy ports (exit 1) before starting anything', async () => {
    run = runlocal(['--storage', '0', '--no-build']);
    expect(await run.exited).toEqual({ code: 2, signal: null });
    expect(run.err()).toContain("runlocal: error: --storage must be an integer from 1 to 899 (got '0')");

    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const taken = (server.address() as net.AddressInfo).port;
    try {
      const ports = await pickPorts(1, 1);
      run = runlocal(['--no-build', '--storage', '1', '--redundancy', '1', '--frontends', '1', '--base-dir', dir,
        '--controller-port', String(taken), '--storage-port', String(ports.storage), '--frontend-port', String(ports.frontend)]);
      expect(await run.exited).toEqual({ code: 1, signal: null });
      expect(run.err()).toContain(`refusing to start: port(s) already in use on 127.0.0.1: ${taken} (EADDRINUSE)`);
      expect(run.out()).not.toContain('started');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('starts a cluster that serves, prints its URLs, and stops every process on SIGTERM', async () => {
    const ports = await pickPorts(2, 1);
    run = runlocal([
      '--storage', '2', '--frontends', '1', '--redundancy', '2', '--partition-digits', '1', '--zones', '2', '--base-dir', dir, '--no-build',
      '--timeout', '60', '--controller-port', String(ports.controller), '--storage-port', String(ports.storage), '--frontend-port', String(ports.frontend),
    ]);
    const r = run;
    await waitFor(() => r.out(), {
      what: 'runlocal to say the cluster is running',
      timeoutMs: 90_000,
      intervalMs: 200,
      until: (out) => out.includes('running; press Ctrl-C to stop every process'),
      abortIf: () => (r.child.exitCode !== null ? `runlocal exited with ${r.child.exitCode}: ${r.err()}` : null),
    });
    const out = r.out();
    const started = [...out.matchAll(/started (\S+) \(pid (\d+)\) -> (\S+)/g)].map((m) => ({ name: m[1], pid: Number(m[2]), log: m[3] }));
    appPids = started.map((s) => s.pid);
    expect(started.map((s) => s.name)).toEqual(['controller', 'storage-1', 'storage-2', 'frontend-1']);
    for (const s of started) {
      expect(cmdline(s.pid)).toContain(`dist/apps/${s.name.replace(/-\d+$/, '')}/main.js`);
      expect(s.log).toBe(path.join(dir, 'logs', `${s.name}.log`));
    }
    expect(out).toContain(`Controller status page  http://127.0.0.1:${ports.controller}/`);
    expect(out).toContain(`storage-2    zone z2   metrics http://127.0.0.1:${ports.storage + 1}/metrics`);
    expect(out).toContain(`Data                    ${path.join(dir, 'data')}/`);

    const frontend = /frontend-1 +API (http:\/\/\S+)\//.exec(out)?.[1];
    expect(frontend).toBe(`http://127.0.0.1:${ports.frontend}`);
    const set = await get(`${frontend}/set/?key=runlocal&value=works`);
    expect(set.status).toBe(200);
    const got = await get(`${frontend}/get/?key=runlocal`);
    expect([got.status, got.text]).toEqual([200, 'works']);

    const status = spawnSync(process.execPath, [FOGCTL, '--controller', `127.0.0.1:${ports.controller}`, 'status'], { encoding: 'utf8', env: childEnv(), timeout: 30_000 });
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('formed');
    expect(status.stdout).toContain(`storage-127.0.0.1-${ports.storage}`);

    for (const name of ['controller', 'storage-1']) expect(fs.existsSync(path.join(dir, 'data', name))).toBe(true);

    r.child.kill('SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
    expect(r.out()).toContain('received SIGTERM, shutting down');
    expect(r.out()).toContain('stopping 4 process(es): controller storage-1 storage-2 frontend-1');
    expect(r.out()).toContain('all processes stopped');
    for (const s of started) expect({ name: s.name, cmdline: cmdline(s.pid) }).toEqual({ name: s.name, cmdline: null });
  });
});
