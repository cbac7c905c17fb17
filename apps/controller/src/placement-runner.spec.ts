import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computePlacement, type PlacementInput } from '@fog/partitioning';
import type { Logger } from '@fog/http-kit';
import { PLACEMENT_RUNNER_LIMITS, PlacementRunner } from './placement-runner';

/**
 * The worker thread's failures (the real worker is built from placement-worker.ts and runs in the
 * e2e tests): stand-in workers that crash, report an error or answer nonsense. Every failure
 * must be logged and the placement still computed, on the controller's thread.
 */
const INPUT: PlacementInput = {
  nodes: ['a', 'b', 'c', 'd'].map((id, i) => ({ id, zone: `z${i % 3}`, weight: 1 })),
  redundancy: 3,
  partitions: 256,
};
const WORKERS = {
  crashes: 'process.exit(3);',
  throws: "require('node:worker_threads').parentPort.on('message', () => { throw new Error('worker bug'); });",
  'reports an error': "const p = require('node:worker_threads').parentPort; p.on('message', (m) => p.postMessage({ id: m.id, error: 'boom' }));",
  'answers nonsense': "const p = require('node:worker_threads').parentPort; p.on('message', (m) => p.postMessage({ id: m.id, result: { partitions: 256, changed: new Int32Array([5, 1]), rowStart: new Int32Array([0, 1, 2]), nodes: new Int32Array([99, 99]), reasons: new Uint8Array(2) } }));",
};

function recordingLog(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (msg: string) => errors.push(msg), enabled: () => true };
}

describe('PlacementRunner', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fog-placement-runner-'));
    for (const [name, code] of Object.entries(WORKERS)) writeFileSync(join(dir, `${name.replace(/ /g, '-')}.js`), code);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(Object.keys(WORKERS))('computes the placement on its own thread when the worker %s, and says so', async (name) => {
    const log = recordingLog();
    const runner = new PlacementRunner(join(dir, `${name.replace(/ /g, '-')}.js`), log);
    try {
      const run = await runner.run(INPUT);
      expect(run.where).toBe('in-thread');
      expect(JSON.stringify(run.placement)).toBe(JSON.stringify(computePlacement(INPUT)));
      expect(log.errors.length).toBeGreaterThan(0);
      // The next placement goes to a worker again (a new one).
      expect(runner.usesWorker()).toBe(true);
    } finally {
      await runner.close();
    }
  });

  it('gives up on the worker after repeated failures, and keeps placing on its own thread', async () => {
    const log = recordingLog();
    const runner = new PlacementRunner(join(dir, 'crashes.js'), log);
    try {
      for (let i = 0; i < PLACEMENT_RUNNER_LIMITS.workerFailuresMax; i++) expect((await runner.run(INPUT)).where).toBe('in-thread');
      expect(runner.usesWorker()).toBe(false);
      expect(log.errors.at(-1)).toMatch(/failed too often/);
      expect((await runner.run(INPUT)).where).toBe('in-thread');
    } finally {
      await runner.close();
    }
  });

  it('places on its own thread without a worker file, and refuses work once closed', async () => {
    const runner = new PlacementRunner(null, recordingLog());
    expect((await runner.run(INPUT)).where).toBe('in-thread');
    await runner.close();
    await expect(runner.run(INPUT)).rejects.toThrow(/closed/);
  });

  it('rejects, rather than answers, a placement whose input is wrong', async () => {
    const runner = new PlacementRunner(null, recordingLog());
    try {
      await expect(runner.run({ ...INPUT, redundancy: 0 })).rejects.toThrow();
      // And carries on with the next one.
      expect((await runner.run(INPUT)).where).toBe('in-thread');
    } finally {
      await runner.close();
    }
  });
});
