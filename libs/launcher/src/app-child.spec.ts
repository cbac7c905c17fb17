import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AppChild, describeExit, signalNumber, stopChildren } from './app-child';
import { busyPorts, freePort } from './ports';
import { waitFor } from './wait-for';

// Small programs run as real children: the launcher's job is real processes and PIDs.
const PROGRAMS: Record<string, string> = {
  'talk.js': "process.stdout.write('to stdout\\n'); process.stderr.write('to stderr\\n'); process.exit(Number(process.argv[2] ?? 0));",
  'serve.js': "process.stdout.write('up\\n'); setInterval(() => {}, 1000); process.on('SIGTERM', () => { process.stdout.write('bye\\n'); process.exit(0); });",
  'stubborn.js': "process.on('SIGTERM', () => process.stdout.write('ignored\\n')); process.stdout.write('up\\n'); setInterval(() => {}, 1000);",
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-launcher-'));
  for (const [name, text] of Object.entries(PROGRAMS)) fs.writeFileSync(path.join(dir, name), text);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const start = (program: string, name: string, extra: Partial<ConstructorParameters<typeof AppChild>[0]> = {}) =>
  new AppChild({
    name, app: program, main: path.join(dir, program), args: [], cwd: dir, env: { PATH: process.env.PATH ?? '' },
    stdoutPath: path.join(dir, `${name}.log`), stderrPath: path.join(dir, `${name}.log`), ...extra,
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('AppChild', () => {
  it('writes stdout and stderr to one log, truncated at each start, and reports the exit code', async () => {
    fs.writeFileSync(path.join(dir, 'one.log'), 'left from an earlier run\n');
    const child = start('talk.js', 'one', { args: ['3'], logMode: 'truncate' });
    expect(await child.waitExit(10_000)).toEqual({ code: 3, signal: null });
    expect(child.stdoutText()).toBe('to stdout\nto stderr\n');
    expect(child.unexpectedExit).toEqual({ code: 3, signal: null });
    expect(describeExit(child.exitStatus)).toBe('exited with code 3');
    expect(child.tail(1)).toContain('to stderr');
  });

  it('keeps stdout and stderr apart and appends after a header when asked', async () => {
    const child = start('talk.js', 'two', { stderrPath: path.join(dir, 'two.err.log'), header: true });
    await child.waitExit(10_000);
    expect(child.stdoutText()).toMatch(/^# \S+ talk\.js \nto stdout\n$/);
    expect(child.stderrText()).toBe('to stderr\n');
  });

  it('stops a process with SIGTERM and counts it as an expected exit', async () => {
    const child = start('serve.js', 'serve');
    await waitFor(() => child.stdoutText(), { what: 'serve.js to start', until: (t) => t.includes('up') });
    expect(child.running).toBe(true);
    expect(await child.stop(5000)).toEqual({ code: 0, signal: null });
    expect(child.unexpectedExit).toBeNull();
    expect(child.stdoutText()).toContain('bye');
    expect(alive(child.pid)).toBe(false);
  });

  it('SIGKILLs, after the grace period, what ignores SIGTERM; every PID is gone afterwards', async () => {
    const polite = start('serve.js', 'polite');
    const stubborn = start('stubborn.js', 'stubborn');
    for (const c of [polite, stubborn]) await waitFor(() => c.stdoutText(), { what: `${c.name} to start`, until: (t) => t.includes('up') });
    const toldToKill: string[][] = [];
    const report = await stopChildren([polite, stubborn], 300, (names) => toldToKill.push(names));
    expect(report).toEqual({ terminated: ['polite', 'stubborn'], killed: ['stubborn'] });
    expect(toldToKill).toEqual([['stubborn']]);
    expect(polite.exitStatus).toEqual({ code: 0, signal: null });
    expect(stubborn.exitStatus).toEqual({ code: null, signal: 'SIGKILL' });
    expect(alive(polite.pid) || alive(stubborn.pid)).toBe(false);
    // Signalling an exited child is a no-op, never a signal to a recycled PID.
    expect(() => stubborn.signal('SIGTERM')).not.toThrow();
  });

  it('names signals by number as a shell does', () => {
    expect(signalNumber('SIGKILL')).toBe(9);
    expect(signalNumber('SIGTERM')).toBe(15);
  });
});

describe('ports', () => {
  it('reports a port something listens on as busy, and a free one not', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const taken = (server.address() as net.AddressInfo).port;
    const free = await freePort();
    try {
      expect(await busyPorts('127.0.0.1', [free, taken])).toEqual([`${taken} (EADDRINUSE)`]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
