import { createLogger, isLogLevel } from './logger';

describe('createLogger', () => {
  const capture = (level: 'debug' | 'info' | 'warn' | 'error') => {
    const lines: string[] = [];
    const log = createLogger('storage', level, (l) => lines.push(l), { node: 's1' });
    return { log, lines };
  };

  it('writes one JSON object per line with level, app, base fields and the event fields', () => {
    const { log, lines } = capture('info');
    log.info('table adopted', { epoch: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({ level: 'info', app: 'storage', node: 's1', msg: 'table adopted', epoch: 3 });
    expect(Number.isNaN(Date.parse(rec.ts))).toBe(false);
  });

  it.each([
    ['debug', 4],
    ['info', 3],
    ['warn', 2],
    ['error', 1],
  ] as const)('at level %s emits %d of the four levels', (level, n) => {
    const { log, lines } = capture(level);
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines).toHaveLength(n);
    expect(log.enabled('error')).toBe(true);
    expect(log.enabled('debug')).toBe(level === 'debug');
  });

  it('knows its levels', () => {
    expect(isLogLevel('warn')).toBe(true);
    expect(isLogLevel('verbose')).toBe(false);
  });
});
