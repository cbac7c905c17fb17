import http from 'node:http';
import net from 'node:net';
import { listen, listenWithPreface, type RunningServer } from './server';

describe('requests that are not HTTP', () => {
  it.each<[string, string, number]>([
    ['a garbage request line', 'HELLO THERE\r\n\r\n', 400],
    ['a header line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n', 400],
    ['headers over the size limit', `GET / HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('%s gets a JSON %d', async (_name, raw, status) => {
    const running = await listen((_req, res) => res.end('ok'), '127.0.0.1', 0);
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(running.port, '127.0.0.1', () => socket.write(raw));
        let text = '';
        socket.on('data', (c) => (text += c.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
      expect(body.error.code).toBe('FOG_ERR_BAD_REQUEST');
    } finally {
      await running.close();
    }
  });
});

const PREFACE = Buffer.from('XBIN1\r\n');

describe('listenWithPreface', () => {
  let running: RunningServer;
  const binaryReceived: Buffer[] = [];

  beforeAll(async () => {
    running = await listenWithPreface(
      (req, res) => res.end(`http ${req.method} ${req.url}`),
      '127.0.0.1', 0, PREFACE,
      (socket, rest) => {
        binaryReceived.push(rest);
        socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
      },
    );
  });
  afterAll(() => running.close());

  it('serves HTTP on the port, several requests on one kept-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) => new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: running.port, path, agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(await get('/a')).toBe('http GET /a');
    expect(await get('/b')).toBe('http GET /b');
    agent.destroy();
  });

  it('hands a connection that opens with the preface to the binary handler, with the bytes after it', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: running.port });
    const replies: Buffer[] = [];
    socket.on('data', (d: Buffer) => replies.push(d));
    // The preface split over two packets, with payload behind it.
    socket.write(PREFACE.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    socket.write(Buffer.concat([PREFACE.subarray(3), Buffer.from('first')]));
    await new Promise((r) => setTimeout(r, 20));
    socket.write('second');
    for (let i = 0; i < 50 && Buffer.concat(replies).length < 'echo:second'.length; i++) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    expect(Buffer.concat(binaryReceived).toString()).toBe('first');
    expect(Buffer.concat(replies).toString()).toBe('echo:second');
  });

  it('treats a connection whose first bytes differ from the preface as HTTP', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: running.port });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.write('GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise((r) => socket.on('close', r));
    expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1\.1 200[\s\S]*http GET \/raw$/);
  });
});

describe('listenWithPreface with several prefaces', () => {
  it('hands each connection to the handler with the preface it opened with', async () => {
    const other = Buffer.from('XBIN2\r\n');
    const seen: string[] = [];
    const server = await listenWithPreface((_req, res) => res.end('http'), '127.0.0.1', 0, [PREFACE, other], (socket, rest, preface) => {
      seen.push(`${preface.toString().trim()}:${rest.toString()}`);
      socket.end('bye');
    });
    try {
      for (const [p, payload] of [[other, 'two'], [PREFACE, 'one']] as const) {
        const socket = net.connect({ host: '127.0.0.1', port: server.port });
        const closed = new Promise((r) => socket.on('close', r));
        socket.on('data', () => undefined);
        socket.write(Buffer.concat([p, Buffer.from(payload)]));
        await closed;
      }
      expect(seen).toEqual(['XBIN2:two', 'XBIN1:one']);
    } finally {
      await server.close();
    }
  });
});

describe('listenWithPreface close', () => {
  it('closes an idle kept-alive HTTP connection instead of waiting for its keep-alive timeout', async () => {
    const server = await listenWithPreface((_req, res) => res.end('ok'), '127.0.0.1', 0, PREFACE, (socket) => socket.destroy());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      }).on('error', reject);
    });
    // The connection now idles in the agent; close must not wait for it.
    const closed = await Promise.race([server.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 10_000))]);
    agent.destroy();
    expect(closed).toBe('closed');
  }, 15_000);
});
