import { randomBytes } from 'node:crypto';
import { ReplayGuard, deriveAuthKeys, signConnection, signRequest, verifyConnection, verifyRequest } from '@fog/protocol';

/**
 * What cluster authentication costs per request, on this machine: signing and verifying one
 * internal request (HMAC-SHA256 over method, path, time, nonce, cluster id and body) for a few
 * body sizes, and one binary connection opening. Prints figures; asserts nothing.
 */
export function authCost(say: (line: string) => void, iterations = 20_000): void {
  const keys = deriveAuthKeys(randomBytes(32).toString('hex'));
  say(`cluster authentication cost (${iterations} requests per row; µs per request)`);
  say('body bytes   sign µs   verify µs');
  for (const size of [0, 200, 4096, 65536]) {
    const body = randomBytes(size);
    const req = { method: 'POST', path: '/internal/v1/ops', body, cluster: '0123456789abcdef' };
    const nonces = Array.from({ length: iterations }, () => randomBytes(12).toString('base64url'));
    const now = Date.now();
    let t0 = process.hrtime.bigint();
    const headers = nonces.map((n) => signRequest(keys, req, now, n));
    const signUs = Number(process.hrtime.bigint() - t0) / 1000 / iterations;
    const guard = new ReplayGuard();
    t0 = process.hrtime.bigint();
    for (const h of headers) if (verifyRequest(keys, h, req, '0123456789abcdef', now, guard)) throw new Error('a signed request did not verify');
    const verifyUs = Number(process.hrtime.bigint() - t0) / 1000 / iterations;
    say(`${String(size).padStart(10)}   ${signUs.toFixed(2).padStart(7)}   ${verifyUs.toFixed(2).padStart(9)}`);
  }
  const guard = new ReplayGuard();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const line = signConnection(keys, '0123456789abcdef', Date.now(), randomBytes(12).toString('base64url'));
    if (verifyConnection(keys, line, '0123456789abcdef', Date.now(), guard)) throw new Error('a signed opening did not verify');
  }
  say(`binary connection opening (sign + verify, once per connection): ${(Number(process.hrtime.bigint() - t0) / 1000 / iterations).toFixed(2)} µs`);
}
