import { readFileSync } from 'node:fs';
import https from 'node:https';

/**
 * Optional TLS for a cluster: every node given a certificate, its key and the cluster's CA
 * serves all its listeners over TLS and speaks TLS to every other node, checking their
 * certificates against the CA. A cluster is TLS throughout or not at all.
 */
export interface TlsFiles {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** The TLS material a node was given (null: none). Throws, for the operator, when only some files are. */
export function loadTls(files: TlsFiles): TlsMaterial | null {
  const given = [files.tlsCert, files.tlsKey, files.tlsCa].filter((f) => f !== undefined && f !== '').length;
  if (given === 0) return null;
  if (given !== 3) throw new Error('TLS needs all three of --tls-cert, --tls-key and --tls-ca (the node serves and connects over TLS)');
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read ${flag} ${file}: ${(err as Error).message}`);
    }
  };
  return { cert: read('--tls-cert', files.tlsCert!), key: read('--tls-key', files.tlsKey!), ca: read('--tls-ca', files.tlsCa!) };
}

let internalTls: TlsMaterial | null = null;
let httpsAgentShared: https.Agent | null = null;

/** Set once at start: this process's TLS (null: plain TCP). */
export function useTls(material: TlsMaterial | null): void {
  internalTls = material;
  httpsAgentShared = null;
}

/** The TLS material in use (null: none). */
export function tlsInUse(): TlsMaterial | null {
  return internalTls;
}

/** The URL of a route on another node: https when the cluster runs TLS. */
export function internalUrl(address: string, path = ''): string {
  return `${internalTls ? 'https' : 'http'}://${address}${path}`;
}

/** An agent for internal HTTPS requests that trusts the cluster's CA (undefined without TLS). */
export function internalHttpsAgent(options: https.AgentOptions = {}): https.Agent | undefined {
  if (!internalTls) return undefined;
  return new https.Agent({ keepAlive: true, ...options, ca: internalTls.ca });
}

/** One shared agent for occasional internal HTTPS requests. */
export function sharedInternalHttpsAgent(): https.Agent | undefined {
  if (!internalTls) return undefined;
  httpsAgentShared ??= internalHttpsAgent({ maxSockets: 16 }) ?? null;
  return httpsAgentShared ?? undefined;
}
