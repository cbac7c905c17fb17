import axios, { type Method } from 'axios';
import http from 'node:http';
import { E2E_AUTH } from './cluster-secret';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

// A private agent: no proxy settings from the environment, no connection reuse across a
// killed process.
const agent = new http.Agent({ keepAlive: false });

const client = axios.create({
  httpAgent: agent,
  proxy: false,
  timeout: 15_000,
  maxRedirects: 0,
  responseType: 'arraybuffer',
  transformResponse: [(d: unknown) => d],
  transitional: { clarifyTimeoutError: true },
  validateStatus: () => true,
  maxBodyLength: Infinity,
  maxContentLength: Infinity,
  decompress: false,
});

/**
 * One HTTP request; any status is returned (never thrown), bodies come back as raw bytes.
 * Signed with the e2e cluster secret (harmless on client routes) unless `sign` is false.
 */
export async function request(
  method: Method, url: string, body?: Buffer | string, headers: Record<string, string> = {}, sign = true,
): Promise<HttpResponse> {
  const u = new URL(url);
  const res = await client.request({
    method,
    url,
    data: body,
    headers: {
      'content-type': 'application/octet-stream',
      ...(sign ? E2E_AUTH.headersFor(String(method).toUpperCase(), u.pathname + u.search, body ?? '') : {}),
      ...headers,
    },
  });
  const buf = Buffer.isBuffer(res.data) ? res.data : Buffer.from(res.data as ArrayBuffer);
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && v !== null) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return { status: res.status, headers: flat, body: buf, text: buf.toString('utf8') };
}

export const get = (url: string): Promise<HttpResponse> => request('GET', url);

/** GET that must answer 200 with JSON. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await get(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${res.text.slice(0, 500)}`);
  return JSON.parse(res.text) as T;
}

/** The JSON body of a response, or a descriptive error when it is not JSON. */
export function jsonOf<T = unknown>(res: HttpResponse): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new Error(`expected a JSON body, got ${res.status} ${JSON.stringify(res.text.slice(0, 500))}`);
  }
}
