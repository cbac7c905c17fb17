import { RUNLOCAL_DEFAULTS, parseRunlocalArgs } from './options';

const parse = (...argv: string[]) => parseRunlocalArgs(argv, '/home/me/work', '/repo');
const usage = (...argv: string[]) => {
  const r = parse(...argv);
  if (r.kind !== 'usage') throw new Error(`expected a usage error for ${argv.join(' ')}, got ${JSON.stringify(r)}`);
  return r.message;
};

describe('runlocal flags', () => {
  it('defaults to the stack the README describes', () => {
    expect(parse()).toEqual({
      kind: 'run',
      options: {
        storage: 4, frontends: 2, redundancy: 3, partitionDigits: 2, zones: 1, logLevel: 'info', baseDir: '/repo/.runlocal',
        timeoutS: 30, build: 'if-stale', controllerPort: 7000, storagePort: 7101, frontendPort: 8001,
      },
    });
  });

  it('takes --flag value and --flag=value, and resolves a relative --base-dir against the invocation directory', () => {
    const r = parse('--storage', '5', '--frontends=3', '--redundancy', '2', '--partition-digits=1', '--zones', '2', '--log-level', 'debug',
      '--base-dir', './tmp/x', '--timeout=9', '--build', '--controller-port', '17000', '--storage-port', '17101', '--frontend-port', '18001');
    expect(r).toEqual({
      kind: 'run',
      options: {
        storage: 5, frontends: 3, redundancy: 2, partitionDigits: 1, zones: 2, logLevel: 'debug', baseDir: '/home/me/work/tmp/x',
        timeoutS: 9, build: 'always', controllerPort: 17000, storagePort: 17101, frontendPort: 18001,
      },
    });
    expect(parse('--base-dir', '/abs/dir', '--no-build')).toMatchObject({ options: { baseDir: '/abs/dir', build: 'never' } });
  });

  it('answers --help, even after valid flags', () => {
    expect(parse('--storage', '2', '--help')).toEqual({ kind: 'help' });
    expect(parse('-h')).toEqual({ kind: 'help' });
  });

  it.each([
    [['--storage', '0'], "--storage must be an integer from 1 to 899 (got '0')"],
    [['--storage', '900'], "--storage must be an integer from 1 to 899 (got '900')"],
    [['--frontends', 'two'], "--frontends must be an integer from 1 to 999 (got 'two')"],
    [['--storage', '2', '--redundancy', '3'], "--redundancy must be an integer from 1 to the number of storage nodes (2); got '3'"],
    [['--partition-digits', '5'], "--partition-digits must be an integer from 1 to 4 (got '5')"],
    [['--zones', '5'], "--zones must be an integer from 1 to 4 (got '5')"],
    [['--timeout', '0'], "--timeout must be an integer from 1 to 3600 (got '0')"],
    [['--log-level', 'loud'], "--log-level must be one of debug, info, warn, error (got 'loud')"],
    [['--storage'], '--storage needs a value'],
    [['--bogus', '1'], "unknown flag '--bogus'"],
    [['--bogus=1'], "unknown flag '--bogus'"],
    [['--build=yes'], '--build takes no value'],
    [['extra'], "unexpected argument 'extra'"],
    [['--storage-port', '7000'], 'the ports of the controller (7000..7000) and the storage (7000..7003) overlap'],
    [['--frontends', '3', '--frontend-port', '7102'], 'the ports of the storage (7101..7104) and the frontends (7102..7104) overlap'],
    [['--frontend-port', '65535'], "--frontend-port must be an integer from 1 to 65534 (got '65535')"],
  ])('refuses %j: %s', (argv, message) => {
    expect(usage(...argv)).toBe(message);
  });

  it('keeps the documented default ports', () => {
    expect([RUNLOCAL_DEFAULTS.controllerPort, RUNLOCAL_DEFAULTS.storagePort, RUNLOCAL_DEFAULTS.frontendPort]).toEqual([7000, 7101, 8001]);
  });
});
