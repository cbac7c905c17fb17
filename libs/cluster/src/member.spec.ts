import { validateRegistration } from './member';

const base = { id: 's1', role: 'storage', address: '127.0.0.1:7101', zone: 'z', weight: 2 };
const basis = { mode: 'auto', cpus: 4, memoryBytes: 4 * 1024 ** 3, memorySource: 'limit', limitedBy: 'memory' };

describe('validateRegistration: weightBasis', () => {
  it('keeps a well-formed basis, and only its known fields', () => {
    expect(validateRegistration({ ...base, weightBasis: { ...basis, extra: 'dropped' } }).weightBasis).toEqual(basis);
    expect(validateRegistration(base).weightBasis).toBeUndefined();
  });

  it.each([
    ['an unknown mode', { ...basis, mode: 'guess' }],
    ['zero CPUs', { ...basis, cpus: 0 }],
    ['no memory', { ...basis, memoryBytes: 0 }],
    ['an unknown memory source', { ...basis, memorySource: 'swap' }],
    ['an unknown limiting resource', { ...basis, limitedBy: 'disk' }],
    ['not an object', 'auto'],
  ])('refuses %s', (_name, weightBasis) => {
    expect(() => validateRegistration({ ...base, weightBasis })).toThrow(/weightBasis/);
  });
});
