import { parseBenchArgs } from './options';

describe('parseBenchArgs', () => {
  it('has the defaults the docs quote', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({
      targets: ['fog', 'bare', 'express', 'redis', 'etcd'], ops: ['get', 'set'], rounds: 3, durationMs: 5000,
      connections: 50, keys: 100_000, hotKeys: 0, valueBytes: 100, rate: 0, driver: 'auto', api: 'original', frontend: null, storage: 3,
      preloadOnly: false,
    });
    expect(parseBenchArgs(['--preload-only']).preloadOnly).toBe(true);
  });
  it('takes comma-separated and repeated lists, without duplicates', () => {
    const o = parseBenchArgs(['--targets', 'fog,express', '--targets', 'fog', '--ops', 'mixed']);
    expect(o.targets).toEqual(['fog', 'express']);
    expect(o.ops).toEqual(['mixed']);
  });
  it.each([
    [['--targets', 'mysql'], /mysql is not one of/],
    [['--ops', 'scan'], /scan is not one of/],
    [['--connections', '0'], /--connections must be an integer from 1/],
    [['--connections', '5000'], /--connections must be an integer from 1 to 1024/],
    [['--rounds', '1.5'], /--rounds/],
    [['--hot-keys', '11', '--keys', '10'], /--hot-keys must be an integer from 0 to 10/],
    [['--rate', '-1'], /--rate/],
    [['--frontend', 'localhost'], /HOST:PORT/],
    [['--bogus'], /Unknown argument/i],
    [['--driver', 'ab'], /driver/i],
  ])('refuses %p', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
  it('reads the open-loop rate, hot keys and an existing frontend', () => {
    const o = parseBenchArgs(['--rate', '5000', '--hot-keys', '1', '--frontend', '127.0.0.1:8001', '--api', 'v1', '--no-half-peak']);
    expect(o).toMatchObject({ rate: 5000, hotKeys: 1, frontend: '127.0.0.1:8001', api: 'v1', halfPeak: false });
  });
  it('passes repeated extra flags to the frontend and to every storage node', () => {
    const o = parseBenchArgs(['--frontend-flag=--replica-transport=http', '--storage-flag=--anti-entropy=off', '--storage-flag=--log-level=info']);
    expect(o).toMatchObject({ frontendFlags: ['--replica-transport=http'], storageFlags: ['--anti-entropy=off', '--log-level=info'] });
    expect(parseBenchArgs([])).toMatchObject({ frontendFlags: [], storageFlags: [], storageNodeOptions: [] });
  });
  it('passes Node.js options to the storage processes', () => {
    expect(parseBenchArgs(['--storage-node-option=--max-semi-space-size=2'])).toMatchObject({ storageNodeOptions: ['--max-semi-space-size=2'] });
  });
});
