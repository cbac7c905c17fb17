import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControllerCore } from '@fog/cluster';
import { StateFile } from './state-file';

describe('StateFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-state-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips the controller state and leaves no temporary file', () => {
    const config = { expectedStorage: 1, redundancy: 1, digits: 1, downAfterMs: 10, outAfterMs: 20, suspectAfterMs: 5 };
    const core = new ControllerCore(config);
    core.register({ id: 's1', role: 'storage', address: '127.0.0.1:1' }, 0);
    const file = new StateFile(dir);
    expect(file.load()).toBeNull();
    file.save(core.snapshot());
    file.save(core.snapshot());
    expect(fs.readdirSync(dir)).toEqual(['controller-state.json']);
    const restored = ControllerCore.restore(file.load()!, config, 0);
    expect(restored.table()).toEqual(core.table());
  });

  it('refuses a corrupt file rather than starting a new cluster over it', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-state-bad-'));
    fs.writeFileSync(path.join(d, 'controller-state.json'), '{"version":1,');
    expect(() => new StateFile(d).load()).toThrow(/not valid JSON/);
    fs.rmSync(d, { recursive: true, force: true });
  });
});
