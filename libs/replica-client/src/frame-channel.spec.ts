import net from 'node:net';
import { FrameReader } from '@fog/protocol';
import { FrameChannel, PeerSpeaksHttpError } from './frame-channel';

const PREFACE = Buffer.from('TEST1\r\n\r\n', 'latin1');

/** A frame: length, id, body. */
function frame(id: number, body: Buffer): Buffer {
  const f = Buffer.alloc(8 + body.length);
  f.writeUInt32LE(4 + body.length, 0);
  f.writeUInt32LE(id, 4);
  body.copy(f, 8);
  return f;
}

/** A peer that checks the preface and opening line, then answers frames (held ones later, in reverse order). */
async function peer(answer: (socket: net.Socket, frames: Buffer[]) => void): Promise<{ address: string; openings: string[]; close: () => Promise<void> }> {
  const openings: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let head = Buffer.alloc(0);
    let reader: FrameReader | null = null;
    socket.on('data', (d: Buffer) => {
      if (!reader) {
        head = Buffer.concat([head, d]);
        // The opening line ends at the first newline after the preface (which holds newlines itself).
        const nl = head.indexOf(0x0a, PREFACE.length);
        if (nl < 0) return;
        const prefaced = head.subarray(0, PREFACE.length).equals(PREFACE);
        openings.push(prefaced ? head.subarray(PREFACE.length, nl).toString('latin1') : 'no preface');
        reader = new FrameReader(1 << 20);
        d = head.subarray(nl + 1);
      }
      const out: Buffer[] = [];
      reader.push(d, out);
      if (out.length) answer(socket, out);
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`, openings,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe('FrameChannel', () => {
  const channels: FrameChannel[] = [];
  const channel = (opening = 'signed-line') => {
    const c = new FrameChannel({ preface: PREFACE, openingLine: () => opening, frameBytesMax: 1 << 20, socketsMaxPerPeer: 1 });
    channels.push(c);
    return c;
  };
  afterAll(() => channels.forEach((c) => c.close()));

  it('opens with the preface and the opening line, and matches answers to requests by id, whatever their order', async () => {
    const held: Array<{ socket: net.Socket; f: Buffer }> = [];
    const p = await peer((socket, frames) => {
      for (const f of frames) held.push({ socket, f });
      if (held.length === 3) for (const h of held.reverse()) h.socket.write(frame(h.f.readUInt32LE(4), Buffer.concat([Buffer.from('re:'), h.f.subarray(8)])));
    });
    try {
      const c = channel();
      const answers = await Promise.all(['a', 'b', 'c'].map((s) => c.request(p.address, (id) => frame(id, Buffer.from(s)), 5000)));
      expect(answers.map((a) => a.subarray(8).toString())).toEqual(['re:a', 're:b', 're:c']);
      expect(p.openings).toEqual(['signed-line']);
    } finally {
      await p.close();
    }
  });

  it('a request not answered in time fails, and a late answer is ignored', async () => {
    const late: { send?: () => void } = {};
    const p = await peer((socket, frames) => {
      late.send = () => socket.write(frame(frames[0].readUInt32LE(4), Buffer.from('late')));
    });
    try {
      const c = channel();
      await expect(c.request(p.address, (id) => frame(id, Buffer.from('x')), 50)).rejects.toThrow(/did not answer in 50 ms/);
      late.send?.();
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      await p.close();
    }
  });

  it('an answer of id 0 (the peer refusing the connection) fails every request on that connection with it', async () => {
    const p = await peer((socket) => socket.end(frame(0, Buffer.from('refused'))));
    try {
      const got = await channel().request(p.address, (id) => frame(id, Buffer.from('x')), 5000);
      expect(got.readUInt32LE(4)).toBe(0);
      expect(got.subarray(8).toString()).toBe('refused');
    } finally {
      await p.close();
    }
  });

  it('a peer that answers in HTTP is told apart (PeerSpeaksHttpError); an unreachable one is an ordinary error', async () => {
    const p = await peer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n'));
    try {
      await expect(channel().request(p.address, (id) => frame(id, Buffer.from('x')), 5000)).rejects.toBeInstanceOf(PeerSpeaksHttpError);
    } finally {
      await p.close();
    }
    const gone = await channel().request(p.address, (id) => frame(id, Buffer.from('x')), 5000).catch((e: Error) => e);
    expect(String(gone)).toMatch(/ECONNREFUSED|unreachable|closed/);
    expect(gone).not.toBeInstanceOf(PeerSpeaksHttpError);
  });

  it('a frame that cannot be encoded fails its request without sending anything', async () => {
    const p = await peer(() => undefined);
    try {
      await expect(channel().request(p.address, () => {
        throw new Error('cannot encode');
      }, 5000)).rejects.toThrow('cannot encode');
    } finally {
      await p.close();
    }
  });
});
