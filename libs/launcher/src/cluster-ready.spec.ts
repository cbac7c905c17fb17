import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterReadiness } from './cluster-ready';
import { freePort } from './ports';

/** A stand-in controller or frontend on a loopback port that answers what the test says. */
async function fakeNode(answers: Record<string, unknown>): Promise<{ url: string; set: (path: string, body: unknown) => void; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = answers[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (path, body) => {
      answers[path] = body;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('clusterReadiness', () => {
  it('says what is missing until the table is formed and every frontend holds it', async () => {
    const controller = await fakeNode({ '/v1/cluster': { formed: false, epoch: 0, storageRegistered: 1, storageExpected: 3 } });
    const frontend = await fakeNode({ '/health': { epoch: 0 } });
    const deadPort = await freePort();
    try {
      const port = new URL(frontend.url).port;
      expect(await clusterReadiness(controller.url, [frontend.url])).toEqual({ ready: false, summary: `waiting: controller has 1 of 3 storage nodes; frontend(s) on ${port} have no table yet` });
      controller.set('/v1/cluster', { formed: true, epoch: 4, storageRegistered: 3, storageExpected: 3 });
      expect(await clusterReadiness(controller.url, [frontend.url])).toEqual({ ready: false, summary: `waiting: frontend(s) on ${port} have no table yet` });
      frontend.set('/health', { epoch: 4 });
      expect(await clusterReadiness(controller.url, [frontend.url])).toEqual({ ready: true, summary: 'epoch 4' });
      expect(await clusterReadiness(`http://127.0.0.1:${deadPort}`, [frontend.url])).toEqual({ ready: false, summary: 'waiting: controller is not answering /v1/cluster' });
    } finally {
      await controller.close();
      await frontend.close();
    }
  });
});
