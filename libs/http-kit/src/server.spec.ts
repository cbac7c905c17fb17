import net from 'node:net';
import { listen } from './server';

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
