import axios, { type AxiosInstance } from 'axios';
import http from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { internalHttpsAgent, internalUrl, type Logger } from '@fog/http-kit';
import { DEFAULT_LIMITS } from '@fog/protocol';
import { FrameChannel, PeerSpeaksHttpError } from '@fog/replica-client';
import {
  ANTI_ENTROPY_PATHS, SYNC_FRAME_PREFACE, decodeSyncReply, encodeSyncRequest, isDiffReply, isDigestReply, isPageReply, isPushReply,
  isSummaryReply, isTreeReply, type SyncKind, type SyncReply, type SyncRequest,
} from '@fog/replica-sync';

/** The route a copying node reads a partition's pages from (HTTP form). */
export const HANDOFF_PATH = '/internal/v1/partition-page';

/** How a node sends anti-entropy and partition copy messages to its peers. */
export const SYNC_TRANSPORTS = ['binary', 'http'] as const;
export type SyncTransportKind = (typeof SYNC_TRANSPORTS)[number];

export const PEER_SYNC_DEFAULTS = {
  /** A peer that answered the binary preface in HTTP (an older version) is spoken to over HTTP this long before binary is tried again. */
  httpFallbackMs: 60_000,
  /** Persistent binary connections to one peer. */
  socketsMaxPerPeer: 2,
  /** Requests in flight to one peer over binary (anti-entropy sends one at a time per peer; copies up to 4). */
  inflightRequestsMaxPerPeer: 64,
} as const;

/** The HTTP route of each message kind. */
export const SYNC_HTTP_PATHS: Record<SyncKind, string> = { ...ANTI_ENTROPY_PATHS, page: HANDOFF_PATH };

const REPLY_CHECKS: Record<SyncKind, (x: unknown) => boolean> = {
  tree: isTreeReply, summaries: isSummaryReply, digest: isDigestReply, diff: isDiffReply, push: isPushReply, page: isPageReply,
};

export type ReplyOf<K extends SyncKind> = Extract<SyncReply, { kind: K }>['body'];

/**
 * The one client a storage node speaks to its peers with, for anti-entropy and partition copies:
 * binary frames (libs/replica-sync sync-frames.ts) over persistent connections opened with the
 * cluster's signed opening, or JSON over signed HTTP (`--replica-transport http`, and towards a
 * peer that answers the binary preface in HTTP). Either way the reply is checked before it is
 * used, and the bytes of messages sent and received are counted.
 */
export class PeerSyncClient {
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly channel: FrameChannel;
  /** Peers spoken to over HTTP until then (ms, Date.now()): they answered the binary preface in HTTP. */
  private readonly httpUntilMs = new Map<string, number>();
  private readonly bytes: Counter<'transport' | 'direction' | 'kind'>;

  constructor(
    readonly transport: SyncTransportKind,
    openingLine: () => string,
    signAxios: (instance: AxiosInstance) => void,
    private readonly log: Logger,
    registry: Registry,
    frameBytesMax: number = DEFAULT_LIMITS.internalBodyBytesMax,
  ) {
    this.http = axios.create({
      httpAgent: this.agent, httpsAgent: internalHttpsAgent({ maxSockets: 8 }), maxRedirects: 0, proxy: false,
      maxBodyLength: frameBytesMax, maxContentLength: frameBytesMax,
      headers: { 'content-type': 'application/json' },
      // The text as it came: its bytes are counted, then it is parsed.
      responseType: 'text', transformResponse: [(x: unknown) => x],
      validateStatus: (s) => s === 200,
    });
    signAxios(this.http);
    this.channel = new FrameChannel({
      preface: SYNC_FRAME_PREFACE, openingLine, frameBytesMax,
      socketsMaxPerPeer: PEER_SYNC_DEFAULTS.socketsMaxPerPeer, inflightRequestsMaxPerPeer: PEER_SYNC_DEFAULTS.inflightRequestsMaxPerPeer,
    });
    this.bytes = new Counter({
      name: 'fog_storage_replica_sync_bytes_total',
      help: 'Bytes of answered anti-entropy and partition copy exchanges: what this node sent to peers and received in their replies (bodies: frames, or HTTP bodies without headers), by transport (binary, http), direction (sent, received) and message kind (tree, summaries, digest, diff, push, page).',
      labelNames: ['transport', 'direction', 'kind'] as const, registers: [registry],
    });
  }

  /** Send one message to the peer at `address` (host:port of its internal listener); resolves with its checked reply. */
  async call<K extends SyncKind>(address: string, req: Extract<SyncRequest, { kind: K }>, timeoutMs: number): Promise<ReplyOf<K>> {
    if (this.transport === 'binary' && (this.httpUntilMs.get(address) ?? 0) <= Date.now()) {
      try {
        return await this.callBinary(address, req, timeoutMs);
      } catch (err) {
        if (!(err instanceof PeerSpeaksHttpError)) throw err;
        this.httpUntilMs.set(address, Date.now() + PEER_SYNC_DEFAULTS.httpFallbackMs);
        this.log.warn('peer answered the binary sync preface in HTTP (an older version?): speaking HTTP to it for a while', { peer: address, forMs: PEER_SYNC_DEFAULTS.httpFallbackMs });
      }
    }
    return this.callHttp(address, req, timeoutMs);
  }

  close(): void {
    this.channel.close();
    this.agent.destroy();
  }

  private async callBinary<K extends SyncKind>(address: string, req: Extract<SyncRequest, { kind: K }>, timeoutMs: number): Promise<ReplyOf<K>> {
    let sent = 0;
    const frame = await this.channel.request(address, (id) => {
      const f = encodeSyncRequest(id, req);
      sent = f.length;
      return f;
    }, timeoutMs);
    this.bytes.inc({ transport: 'binary', direction: 'sent', kind: req.kind }, sent);
    this.bytes.inc({ transport: 'binary', direction: 'received', kind: req.kind }, frame.length);
    const reply = decodeSyncReply(frame);
    if (!reply.ok) {
      const code = (reply.body as { error?: { code?: unknown } } | null)?.error?.code;
      throw new Error(`${address} refused the ${req.kind} request (${reply.status}${typeof code === 'string' ? ` ${code}` : ''})`);
    }
    if (reply.kind !== req.kind || !REPLY_CHECKS[req.kind](reply.body)) throw new Error(`malformed ${req.kind} reply from ${address}`);
    return reply.body as ReplyOf<K>;
  }

  private async callHttp<K extends SyncKind>(address: string, req: Extract<SyncRequest, { kind: K }>, timeoutMs: number): Promise<ReplyOf<K>> {
    const text = JSON.stringify(req.body);
    const res = await this.http.post<string>(internalUrl(address, SYNC_HTTP_PATHS[req.kind]), text, { timeout: timeoutMs });
    this.bytes.inc({ transport: 'http', direction: 'sent', kind: req.kind }, Buffer.byteLength(text));
    this.bytes.inc({ transport: 'http', direction: 'received', kind: req.kind }, Buffer.byteLength(res.data));
    let body: unknown;
    try {
      body = JSON.parse(res.data);
    } catch {
      body = undefined;
    }
    if (!REPLY_CHECKS[req.kind](body)) throw new Error(`malformed ${req.kind} reply from ${address}`);
    return body as ReplyOf<K>;
  }
}
