import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports';
import { TcpProxy } from './tcp-proxy';

/** An echo server on a free loopback port. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen({ host: LOOPBACK, port: 0 }, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connect through the proxy, send `text`, and collect what comes back within `waitMs`. */
async function roundTrip(socket: net.Socket, text: string, waitMs: number): Promise<string> {
  let got = '';
  const onData = (d: Buffer) => (got += d.toString('utf8'));
  socket.on('data', onData);
  socket.write(text);
  const deadline = Date.now() + waitMs;
  while (got.length < text.length && Date.now() < deadline) await sleep(10);
  socket.off('data', onData);
  return got;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: LOOPBACK, port }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('TcpProxy', () => {
  it('relays bytes, stalls open and new connections while cut, drops the stalled ones and relays again once healed', async () => {
    const echo = await echoServer();
    const proxy = await TcpProxy.start(echo.port);
    try {
      const open = await connect(proxy.port);
      open.on('error', () => undefined);
      expect(await roundTrip(open, 'before', 2000)).toBe('before');

      proxy.cut();
      expect(await roundTrip(open, 'during', 300)).toBe('');
      const newcomer = await connect(proxy.port);
      newcomer.on('error', () => undefined);
      expect(await roundTrip(newcomer, 'hello?', 300)).toBe('');

      const closed = Promise.all([open, newcomer].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve()))));
      proxy.heal();
      await closed;
      const after = await connect(proxy.port);
      expect(await roundTrip(after, 'after', 2000)).toBe('after');
      after.destroy();
      expect(proxy.stats()).toMatchObject({ cuts: 1, stalledConnections: 2 });
    } finally {
      await proxy.close();
      await echo.close();
    }
  });
});
