import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppProcess, freePort, hostPort, installProcessSafetyNet, makeTempDir, waitFor } from './harness';

installProcessSafetyNet();

/**
 * A whole cluster over TLS, with a CA this test makes: every listener (client and internal)
 * serves TLS, every node checks the others' certificates against the CA, and the client API
 * answers over HTTPS. Needs the openssl command (skipped, with the reason, without it).
 */
const run = randomBytes(4).toString('hex');

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A CA and one certificate for 127.0.0.1 signed by it, in `dir`. */
function makeCa(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=fog-test-ca-${run}`], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', f('node.key'), '-out', f('node.csr'), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  execFileSync('openssl', ['x509', '-req', '-in', f('node.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('node.pem'), '-days', '2', '-extfile', f('san.ext')], { stdio: 'ignore' });
  return { ca: f('ca.pem'), cert: f('node.pem'), key: f('node.key') };
}

/** One HTTPS request trusting `ca` (or none: the system's CAs); rejects when the TLS handshake fails. */
function httpsRequest(method: string, url: string, ca: Buffer | undefined, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const describeTls = haveOpenssl() ? describe : describe.skip;
if (!haveOpenssl()) process.stderr.write('tls.spec: skipped: the openssl command is not installed (apt-get install openssl)\n');

describeTls('a cluster over TLS', () => {
  const dir = makeTempDir(`tls-${run}`);
  const procs: AppProcess[] = [];
  let ca: Buffer;
  let frontend = '';
  let controller = '';
  let storagePort = 0;

  beforeAll(async () => {
    const files = makeCa(dir);
    ca = fs.readFileSync(files.ca);
    const tlsArgs = ['--tls-cert', files.cert, '--tls-key', files.key, '--tls-ca', files.ca];
    const cport = await freePort();
    controller = `https://${hostPort(cport)}`;
    procs.push(AppProcess.spawn({ app: 'controller', name: 'controller', logDir: dir, args: [String(cport), '2', '2', '--partition-digits', '1', ...tlsArgs] }));
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      if (i === 0) storagePort = port;
      procs.push(AppProcess.spawn({ app: 'storage', name: `storage-${i}`, logDir: dir, args: [hostPort(cport), hostPort(port), '--internal-port', '0', ...tlsArgs] }));
    }
    const fport = await freePort();
    frontend = `https://${hostPort(fport)}`;
    procs.push(AppProcess.spawn({ app: 'frontend', name: 'frontend', logDir: dir, args: [hostPort(cport), hostPort(fport), '--internal-port', '0', ...tlsArgs] }));
    await waitFor(async () => (await httpsRequest('GET', `${frontend}/ready`, ca).catch(() => ({ status: 0 }))).status === 200, {
      what: 'the TLS cluster to be ready', timeoutMs: 30_000,
      abortIf: () => procs.find((p) => !p.running)?.name ?? null,
    });
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
  });

  it('writes and reads through the frontend over HTTPS, replicated to both storage nodes over TLS', async () => {
    const key = `tls-${run}`;
    expect((await httpsRequest('PUT', `${frontend}/v1/kv/${key}?w=all`, ca, 'over tls')).status).toBe(200);
    const read = await httpsRequest('GET', `${frontend}/v1/kv/${key}?r=all`, ca);
    expect(read).toEqual({ status: 200, text: 'over tls' });
    const cluster = JSON.parse((await httpsRequest('GET', `${controller}/v1/cluster`, ca)).text) as { nodes: Array<{ state: string }> };
    expect(cluster.nodes.filter((n) => n.state === 'up')).toHaveLength(3);
    for (const p of procs) expect({ name: p.name, running: p.running }).toEqual({ name: p.name, running: true });
  });

  it('refuses clients that do not trust the cluster CA, and plain HTTP', async () => {
    await expect(httpsRequest('GET', `${frontend}/health`, undefined)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    const plain = await fetch(`http://${hostPort(storagePort)}/health`).then((r) => r.status, (e: Error) => e.message);
    expect(plain).not.toBe(200);
  });
});
