import http from 'node:http';
import type { Logger } from './logger';

export interface RunningServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Listen, resolving with the bound port (port 0 picks a free one). */
/** Connections the kernel queues before the process accepts them (Node's default is 511). */
export const LISTEN_BACKLOG_DEFAULT = 511;

export function listen(handler: http.RequestListener, host: string, port: number, backlog = LISTEN_BACKLOG_DEFAULT): Promise<RunningServer> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, handler);
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
