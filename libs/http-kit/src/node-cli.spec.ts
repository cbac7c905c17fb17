import yargs from 'yargs';
import { parseWithKnownEnv } from './node-cli';

describe('parseWithKnownEnv', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  });

  it('takes FOG_* variables for known flags and ignores, with a warning, those that name none', () => {
    process.env.FOG_OUT_AFTER_MS = '1234';
    process.env.FOG_SOMETHING_ELSE = 'x';
    const warn = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const args = parseWithKnownEnv(
      yargs([]).env('FOG').option('out-after-ms', { type: 'number' }).strictOptions().exitProcess(false),
    ) as { outAfterMs?: number };
    expect(args.outAfterMs).toBe(1234);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('FOG_SOMETHING_ELSE'));
    // The environment is left as it was.
    expect(process.env.FOG_SOMETHING_ELSE).toBe('x');
    warn.mockRestore();
  });

  it('lets a flag win over the environment', () => {
    process.env.FOG_OUT_AFTER_MS = '1234';
    const args = parseWithKnownEnv(yargs(['--out-after-ms', '5']).env('FOG').option('out-after-ms', { type: 'number' }).exitProcess(false)) as { outAfterMs?: number };
    expect(args.outAfterMs).toBe(5);
  });
});
