import {
  AUTH_LIMITS, ReplayGuard, deriveAuthKeys, secretProblem, signConnection, signRequest, signTable, tableSignatureProblem, verifyConnection,
  verifyRequest,
} from './auth';
import type { PartitionTable } from './cluster';

const keys = deriveAuthKeys('a-cluster-secret-of-enough-bytes');
const other = deriveAuthKeys('another-secret-of-enough-bytes!!');
const T = 1_700_000_000_000;
const req = { method: 'PUT', path: '/internal/v1/table', body: '{"epoch":3}', cluster: '0123456789abcdef' };

describe('request signatures', () => {
  it('accepts a request signed with the same secret, once', () => {
    const guard = new ReplayGuard();
    const header = signRequest(keys, req, T, 'nonce-0001');
    expect(verifyRequest(keys, header, req, '0123456789abcdef', T + 5, guard)).toBeNull();
    // The same bytes again are a replay.
    expect(verifyRequest(keys, header, req, '0123456789abcdef', T + 6, guard)).toMatchObject({ reason: 'replay', status: 401 });
  });

  it('refuses a missing, malformed, foreign, altered or stale signature', () => {
    const guard = new ReplayGuard();
    expect(verifyRequest(keys, undefined, req, '', T, guard)).toMatchObject({ reason: 'missing', status: 401 });
    expect(verifyRequest(keys, 'v1 x y z', req, '', T, guard)).toMatchObject({ reason: 'malformed' });
    expect(verifyRequest(keys, signRequest(other, req, T, 'nonce-0002'), req, '', T, guard)).toMatchObject({ reason: 'bad_signature' });
    const header = signRequest(keys, req, T, 'nonce-0003');
    for (const altered of [{ ...req, body: '{"epoch":1e15}' }, { ...req, path: '/internal/v1/ops' }, { ...req, method: 'POST' }, { ...req, cluster: 'fedcba9876543210' }]) {
      expect(verifyRequest(keys, header, altered, '', T, guard)).toMatchObject({ reason: 'bad_signature' });
    }
    const late = T + AUTH_LIMITS.clockSkewMsMax + 1;
    expect(verifyRequest(keys, signRequest(keys, req, T, 'nonce-0004'), req, '', late, guard)).toMatchObject({ reason: 'clock_skew' });
    // A refused request leaves no nonce behind: only authentic requests fill the replay cache.
    expect(guard.size).toBe(0);
  });

  it('refuses an authentic request of another cluster with 403', () => {
    const header = signRequest(keys, req, T, 'nonce-0005');
    expect(verifyRequest(keys, header, req, 'aaaaaaaaaaaaaaaa', T, new ReplayGuard())).toMatchObject({ reason: 'wrong_cluster', status: 403 });
    // A sender that knows no cluster yet, or a receiver that knows none, is not refused for it.
    const anon = { ...req, cluster: '' };
    expect(verifyRequest(keys, signRequest(keys, anon, T, 'nonce-0006'), anon, 'aaaaaaaaaaaaaaaa', T, new ReplayGuard())).toBeNull();
  });

  it('forgets nonces after the window and refuses, retryably, beyond its size', () => {
    const guard = new ReplayGuard(1000, 2);
    expect(guard.admit('a', 0)).toBe('ok');
    expect(guard.admit('b', 10)).toBe('ok');
    expect(guard.admit('c', 20)).toBe('full');
    expect(guard.admit('a', 500)).toBe('replay');
    expect(guard.admit('c', 1001)).toBe('ok');
    expect(guard.admit('a', 1002)).toBe('full');
    expect(guard.admit('a', 1011)).toBe('ok');
  });
});

describe('binary connection openings', () => {
  it('accepts a fresh opening of the cluster and refuses replays, foreign secrets and clusters', () => {
    const guard = new ReplayGuard();
    const line = signConnection(keys, '', T, 'conn-nonce-1');
    expect(verifyConnection(keys, line, '0123456789abcdef', T, guard)).toBeNull();
    expect(verifyConnection(keys, line, '0123456789abcdef', T, guard)).toMatchObject({ reason: 'replay' });
    expect(verifyConnection(keys, signConnection(other, '', T, 'conn-nonce-2'), '', T, guard)).toMatchObject({ reason: 'bad_signature' });
    expect(verifyConnection(keys, signConnection(keys, 'aaaaaaaaaaaaaaaa', T, 'conn-nonce-3'), '0123456789abcdef', T, guard)).toMatchObject({ reason: 'wrong_cluster' });
    expect(verifyConnection(keys, '', '', T, guard)).toMatchObject({ reason: 'malformed' });
  });
});

describe('table signatures', () => {
  const table = (): PartitionTable => ({
    epoch: 4, digits: 1, redundancy: 1, cluster: '0123456789abcdef',
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['s1'], pending: [] })),
    nodes: { s1: { id: 's1', address: '127.0.0.1:1', zone: 'z', weight: 1, state: 'up' } },
  });

  it('verifies what the controller signed and nothing else', () => {
    const t = table();
    t.sig = signTable(keys, t);
    expect(tableSignatureProblem(keys, t)).toBeNull();
    expect(tableSignatureProblem(other, t)).toMatch(/does not match/);
    expect(tableSignatureProblem(keys, { ...t, epoch: 1e15 })).toMatch(/does not match/);
    expect(tableSignatureProblem(keys, { ...t, partitions: [] })).toMatch(/does not match/);
    expect(tableSignatureProblem(keys, { ...t, cluster: 'fedcba9876543210' })).toMatch(/does not match/);
    expect(tableSignatureProblem(keys, { ...t, sig: undefined })).toMatch(/not signed/);
  });
});

describe('secrets', () => {
  it('needs at least the minimum length', () => {
    expect(secretProblem('short')).toMatch(/at least 16 bytes/);
    expect(secretProblem('  sixteen-bytes-ok  ')).toBeNull();
  });
});
