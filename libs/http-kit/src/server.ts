import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from './tls';
import type { Duplex } from 'node:stream';
import { FogError } from '@fog/protocol';
import type { Logger } from './logger';

export interface RunningServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Answer a request Node's HTTP parser refused (not HTTP, headers over the size limit) with a
 * JSON error like every other answer, then close the connection.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(new FogError('FOG_ERR_BAD_REQUEST', tooLarge ? 'the request line and headers are larger than the header limit' : 'the request is not valid HTTP').toBody());
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Listen, resolving with the bound port (port 0 picks a free one). */
/** Connections the kernel queues before the process accepts them (Node's default is 511). */
export const LISTEN_BACKLOG_DEFAULT = 511;

export function listen(
  handler: http.RequestListener, host: string, port: number, backlog = LISTEN_BACKLOG_DEFAULT, tlsMaterial: TlsMaterial | null = null,
): Promise<RunningServer> {
  const server: http.Server = tlsMaterial
    ? https.createServer({ keepAliveTimeout: 65_000, cert: tlsMaterial.cert, key: tlsMaterial.key }, handler)
    : http.createServer({ keepAliveTimeout: 65_000 }, handler);
  server.on('clientError', answerClientError);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, backlog, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        server,
        port: bound,
        close: () => new Promise<void>((res) => {
          server.close(() => res());
          server.closeAllConnections();
        }),
      });
    });
  });
}

/**
 * Listen for HTTP and, on the same port, for connections that open with `preface` (a binary
 * protocol; or one of several prefaces, one per protocol): those are handed to onPreface with
 * the bytes that followed the preface and the preface they opened with; every
 * other connection is HTTP. HTTP requests open with a method name, so a preface that is not one
 * tells the two apart from the first bytes.
 */
/** A connection that has not shown whether it is HTTP or binary within this long is closed. */
export const PREFACE_WAIT_MS = 10_000;

export function listenWithPreface(
  handler: http.RequestListener, host: string, port: number, preface: Buffer | readonly Buffer[],
  onPreface: (socket: net.Socket, rest: Buffer, preface: Buffer) => void,
  tlsMaterial: TlsMaterial | null = null,
): Promise<RunningServer> {
  // Several binary protocols may share the port, each known by its own preface.
  const prefaces: readonly Buffer[] = Buffer.isBuffer(preface) ? [preface] : preface;
  const httpServer = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  httpServer.on('clientError', answerClientError);
  const binary = new Set<net.Socket>();
  const handed = new Set<net.Socket>();
  // With TLS the sniffing happens on the decrypted stream: HTTP and binary alike run inside TLS.
  const onConnection = (socket: net.Socket): void => {
    let head: Buffer = Buffer.alloc(0);
    // Silent since it connected: neither HTTP nor binary has begun.
    const onIdle = () => socket.destroy();
    const decided = () => {
      socket.off('data', sniff);
      socket.off('timeout', onIdle);
      socket.setTimeout(0);
    };
    const sniff = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      let undecided = false;
      for (const p of prefaces) {
        const n = Math.min(head.length, p.length);
        if (!head.subarray(0, n).equals(p.subarray(0, n))) continue;
        if (head.length < p.length) {
          undecided = true; // could still be this one: wait for more
          continue;
        }
        decided();
        binary.add(socket);
        socket.once('close', () => binary.delete(socket));
        onPreface(socket, head.subarray(p.length), p);
        return;
      }
      if (undecided) return;
      // HTTP: give the bytes back and let the HTTP server read the connection from the start.
      decided();
      socket.pause();
      socket.unshift(head);
      // Tracked here: an HTTP server that never listened itself does not track the connections
      // it is handed, so closeAllConnections would leave idle keep-alive sockets open and
      // close() would wait for them (up to the keep-alive timeout).
      handed.add(socket);
      socket.once('close', () => handed.delete(socket));
      httpServer.emit('connection', socket);
      process.nextTick(() => socket.resume());
    };
    socket.on('data', sniff);
    socket.on('error', () => socket.destroy());
    socket.setTimeout(PREFACE_WAIT_MS, onIdle);
  };
  const server: net.Server = tlsMaterial
    ? tls.createServer({ cert: tlsMaterial.cert, key: tlsMaterial.key, handshakeTimeout: PREFACE_WAIT_MS }, onConnection)
    : net.createServer(onConnection);
  if (tlsMaterial) server.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        server: httpServer,
        port: bound,
        close: () => new Promise<void>((res) => {
          server.close(() => res());
          httpServer.closeAllConnections();
          for (const s of binary) s.destroy();
          for (const s of handed) s.destroy();
        }),
      });
    });
  });
}

/** Stop cleanly on SIGINT/SIGTERM: run the app's stop, then exit. */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error('stop failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
}

/** host:port of a listener bound on `port`, advertised under the host of `address`. */
export function advertisedAt(address: string, port: number): string {
  return `${address.slice(0, address.lastIndexOf(':'))}:${port}`;
}
