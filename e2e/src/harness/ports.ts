import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/**
 * A port that was free on 127.0.0.1 a moment ago: bind port 0, read the port the kernel chose,
 * close. Another process may take it before the app binds it, so callers that spawn an app on
 * it retry with a fresh port when the app reports EADDRINUSE (see spawnOnFreePort).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const addr = server.address();
      if (typeof addr !== 'object' || addr === null) {
        server.close();
        reject(new Error(`could not read the port bound on ${LOOPBACK}`));
        return;
      }
      const port = addr.port;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

export function hostPort(port: number): string {
  return `${LOOPBACK}:${port}`;
}
