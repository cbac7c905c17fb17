import fs from 'node:fs';
import path from 'node:path';
import {
  get, hostPort, installProcessSafetyNet, jsonOf, makeTempDir, removeTempDir, request, startListeningApp, useCluster, waitFor,
  type HttpResponse, type ListeningApp,
} from './harness';

installProcessSafetyNet();

interface NotReady {
  error: { code: string; details: { reasons: string[] } };
}

function reasonsOf(res: HttpResponse): string[] {
  expect(res.status).toBe(503);
  const body = jsonOf<NotReady>(res);
  expect(body.error.code).toBe('FOG_ERR_NOT_READY');
  return body.error.details.reasons;
}

/** /health says the process is alive; /ready says it can serve, and why not when it cannot. */
describe('readiness: a frontend whose controller has formed no table', () => {
  const logDir = makeTempDir('readiness-no-table');
  const started: ListeningApp[] = [];
  afterAll(async () => {
    for (const a of started) await a.proc.stop(3000);
    removeTempDir(logDir);
  });

  it('answers /ready 503 no_table on the frontend and the controller, /health 200', async () => {
    // The controller waits for three storage nodes that never come.
    const controller = await startListeningApp({ app: 'controller', name: 'controller', logDir, argsFor: (port) => [String(port), '3', '3'] });
    started.push(controller);
    const frontend = await startListeningApp({ app: 'frontend', name: 'frontend', logDir, argsFor: (port) => [hostPort(controller.port), hostPort(port)] });
    started.push(frontend);
    // Registered, yet without a table.
    await waitFor(() => get(`${frontend.url}/health`), { what: 'the frontend to register', until: (r) => r.status === 200 && jsonOf<{ registered: boolean }>(r).registered });
    expect(reasonsOf(await get(`${frontend.url}/ready`))).toEqual(['no_table']);
    expect(reasonsOf(await get(`${controller.url}/ready`))).toEqual(['no_table']);
    expect((await get(`${frontend.url}/health`)).status).toBe(200);
    // It says the same to a client: no table yet.
    const res = await request('GET', `${frontend.url}/v1/kv/k`);
    expect(res.status).toBe(503);
    expect(jsonOf<NotReady>(res).error.code).toBe('FOG_ERR_NO_TABLE');
    expect(controller.proc.running && frontend.proc.running).toBe(true);
  });
});

describe('readiness: a storage node that cannot write', () => {
  const dataRoot = makeTempDir('readiness-data');
  const faultFile = path.join(dataRoot, 'faults');
  const { cluster, it } = useCluster({
    storage: 1, frontends: 1, redundancy: 1, digits: 1, label: 'readiness',
    storageArgs: (i) => ['--data-dir', path.join(dataRoot, `storage-${i}`), '--fsync', 'always', '--fault-inject-file', faultFile],
  });
  afterAll(() => removeTempDir(dataRoot));

  it('is ready everywhere while the disk works', async () => {
    for (const { name, url } of cluster().urls()) {
      const res = await get(`${url}/ready`);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(jsonOf<{ status: string }>(res).status).toBe('ready');
    }
  });

  it('answers /ready 503 disk_not_writable while writes fail, /health 200, and is ready again once the disk works', async () => {
    const c = cluster();
    const storage = c.storageUrl(0);
    fs.writeFileSync(faultFile, 'write-eio\n');
    try {
      const res = await request('PUT', `${c.frontendUrl(0)}/v1/kv/k`, 'v');
      expect(res.status).toBe(507);
      await waitFor(() => get(`${storage}/ready`), { what: 'storage /ready to say 503', until: (r) => r.status === 503 });
      expect(reasonsOf(await get(`${storage}/ready`))).toEqual(['disk_not_writable']);
      expect((await get(`${storage}/health`)).status).toBe(200);
    } finally {
      fs.rmSync(faultFile, { force: true });
    }
    await waitFor(() => get(`${storage}/ready`), { what: 'storage /ready to say 200 again', timeoutMs: 30_000, until: (r) => r.status === 200 });
    expect((await request('PUT', `${c.frontendUrl(0)}/v1/kv/k`, 'v')).status).toBe(200);
    expect(c.crashes()).toEqual([]);
  });
});
