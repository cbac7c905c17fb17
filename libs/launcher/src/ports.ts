import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/**
 * A port that was free on `host` a moment ago: bind port 0, read the port the kernel chose,
 * close. Another process may take it before the app binds it, so callers that spawn an app on
 * it retry with a fresh port when the app reports EADDRINUSE.
 */
export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const addr = server.address();
      if (typeof addr !== 'object' || addr === null) {
        server.close();
        reject(new Error(`could not read the port bound on ${host}`));
        return;
      }
      const port = addr.port;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Try to bind `port` on `host` as an app would; null when it could, else the error code. */
export function tryBind(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** The ports of `ports` that cannot be bound on `host`, each as `PORT (CODE)`. */
export async function busyPorts(host: string, ports: readonly number[]): Promise<string[]> {
  const busy: string[] = [];
  for (const port of ports) {
    const code = await tryBind(host, port);
    if (code) busy.push(`${port} (${code})`);
  }
  return busy;
}
