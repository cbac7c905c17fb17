import { BACKUP_FORMAT, entryLine, headerLine, parseBackupLine, trailerLine } from './backup-format';

describe('backup file lines', () => {
  it('reads back what it writes: header, entries (text and binary), trailer', () => {
    const header = headerLine({ digits: 2, partitions: 256, epoch: 7, startedAtMs: 1000 });
    expect(parseBackupLine(header.trimEnd(), true)).toEqual({ kind: 'header', header: { format: BACKUP_FORMAT, formatVersion: 1, digits: 2, partitions: 256, epoch: 7, startedAtMs: 1000 } });
    const text = entryLine({ key: 'k', version: '5.0.fe', bytes: 2, value: 'hé', encoding: 'utf8' });
    expect(parseBackupLine(text.trimEnd(), false)).toEqual({ kind: 'entry', entry: { key: 'k', version: '5.0.fe', value: 'hé', encoding: 'utf8' } });
    const bin = entryLine({ key: 'b\u0001i', version: '6.1.fe', bytes: 2, value: 'AP8=', encoding: 'base64' });
    expect(parseBackupLine(bin.trimEnd(), false)).toEqual({ kind: 'entry', entry: { key: 'b\u0001i', version: '6.1.fe', value: 'AP8=', encoding: 'base64' } });
    expect(parseBackupLine(trailerLine({ keys: 2, valueBytes: 4, finishedAtMs: 2000 }).trimEnd(), false)).toEqual({ kind: 'trailer', trailer: { end: true, keys: 2, valueBytes: 4, finishedAtMs: 2000 } });
  });

  it('keeps a key\'s expiry', () => {
    const line = entryLine({ key: 'k', version: '5.0.fe', bytes: 1, value: 'v', encoding: 'utf8', expiresAtMs: 9000 });
    expect(parseBackupLine(line.trimEnd(), false)).toEqual({ kind: 'entry', entry: { key: 'k', version: '5.0.fe', value: 'v', encoding: 'utf8', expiresAtMs: 9000 } });
    expect(parseBackupLine('{"key":"k","version":"1.0.f","value":"v","encoding":"utf8","expiresAtMs":"soon"}', false).kind).toBe('bad');
  });

  it('refuses an entry without its value', () => {
    expect(() => entryLine({ key: 'k', version: '5.0.fe', bytes: 2 })).toThrow(/value/);
  });

  it.each<[string, string, boolean]>([
    ['not JSON', '{', false],
    ['no header first', '{"key":"k","version":"1.0.f","value":"v","encoding":"utf8"}', true],
    ['another format version', '{"format":"velour-fog-backup","formatVersion":2}', true],
    ['an entry without a version', '{"key":"k","value":"v","encoding":"utf8"}', false],
    ['an entry with another encoding', '{"key":"k","version":"1.0.f","value":"v","encoding":"hex"}', false],
    ['a trailer without a count', '{"end":true}', false],
    ['an array', '[1]', false],
  ])('says why %s is not a backup line', (_name, text, first) => {
    expect(parseBackupLine(text, first).kind).toBe('bad');
  });
});
