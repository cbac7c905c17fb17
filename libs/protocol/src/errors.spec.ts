import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS, FogError, isErrorCode } from './errors';

describe('error registry', () => {
  // docs/errors.md is the user's list of codes: it must name exactly the registered codes,
  // with the same status.
  const doc = readFileSync(join(__dirname, '../../../docs/errors.md'), 'utf8');
  const documented = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `(FOG_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)) documented.set(m[1], Number(m[2]));

  it.each(Object.entries(ERRORS))('%s is documented with its status', (code, { status }) => {
    expect(documented.get(code)).toBe(status);
  });

  it('documents no code that does not exist', () => {
    expect([...documented.keys()].filter((c) => !isErrorCode(c))).toEqual([]);
  });

  it('uses client-error statuses for client mistakes and 5xx for the cluster', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(status >= 400 && status < 600).toBe(true);
      expect(code).toMatch(/^FOG_ERR_[A-Z_]+$/);
    }
  });

  it('builds the JSON body', () => {
    const e = new FogError('FOG_ERR_QUORUM_NOT_MET', 'write needed 2', { required: 2 });
    expect(e.status).toBe(503);
    expect(e.toBody()).toEqual({ error: { code: 'FOG_ERR_QUORUM_NOT_MET', message: 'write needed 2', details: { required: 2 } } });
  });
});
