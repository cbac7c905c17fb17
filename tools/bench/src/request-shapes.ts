/**
 * What one GET or SET of key i looks like on the wire for each kind of target, for both drivers
 * (wrk's Lua script and the built-in generator), so they send the same bytes.
 */
export type Style = 'original' | 'v1' | 'etcd' | 'redis';

export const keyName = (i: number): string => `bench-${i}`;

/** The value every write stores: URL-safe, so the original API's query form could carry it too. */
export const benchValue = (bytes: number): Buffer => Buffer.alloc(bytes, 'x');

/** A raw request for the built-in generator. */
export function buildRequest(style: Style, write: boolean, i: number, value: Buffer, hostPort: string): Buffer {
  const key = keyName(i);
  switch (style) {
    case 'redis': {
      if (!write) return Buffer.from(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`);
      return Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`), value, CRLF]);
    }
    case 'etcd': {
      const k = Buffer.from(key).toString('base64');
      const body = write ? `{"key":"${k}","value":"${value.toString('base64')}"}` : `{"key":"${k}"}`;
      return Buffer.from(`POST /v3/kv/${write ? 'put' : 'range'} HTTP/1.1\r\nHost: ${hostPort}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
    case 'v1':
      if (!write) return Buffer.from(`GET /v1/kv/${key} HTTP/1.1\r\nHost: ${hostPort}\r\n\r\n`);
      return Buffer.concat([Buffer.from(`PUT /v1/kv/${key} HTTP/1.1\r\nHost: ${hostPort}\r\nContent-Length: ${value.length}\r\n\r\n`), value]);
    case 'original':
      if (!write) return Buffer.from(`GET /get/?key=${key} HTTP/1.1\r\nHost: ${hostPort}\r\n\r\n`);
      return Buffer.concat([Buffer.from(`POST /set/?key=${key} HTTP/1.1\r\nHost: ${hostPort}\r\nContent-Length: ${value.length}\r\n\r\n`), value]);
  }
}

const CRLF = Buffer.from('\r\n');

/**
 * A wrk Lua script that sends the same requests as buildRequest over keys 0..keys-1 and prints
 * one machine-readable line at the end (parsed by parseWrkOutput).
 */
export function wrkScript(style: Exclude<Style, 'redis'>, op: 'get' | 'set' | 'mixed', keys: number, valueBytes: number, seed: number): string {
  const lines = [
    `local keys = ${keys}`,
    `local op = "${op}"`,
    `local value = string.rep("x", ${valueBytes})`,
    `math.randomseed(${seed})`,
    // Base64 without bit operations (LuaJIT's bit library is not guaranteed in every wrk build).
    'local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"',
    'local function b64(s)',
    '  local out = {}',
    '  for i = 1, #s, 3 do',
    '    local a, b, c = s:byte(i, i + 2)',
    '    local n = a * 65536 + (b or 0) * 256 + (c or 0)',
    '    local c1 = math.floor(n / 262144) % 64',
    '    local c2 = math.floor(n / 4096) % 64',
    '    local c3 = math.floor(n / 64) % 64',
    '    local c4 = n % 64',
    '    out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1)',
    '      .. (b and b64chars:sub(c3 + 1, c3 + 1) or "=") .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")',
    '  end',
    '  return table.concat(out)',
    'end',
    'local valb64 = b64(value)',
    'local hdr = {}',
  ];
  switch (style) {
    case 'original':
      lines.push(
        'local function req(i, write)',
        '  if write then return wrk.format("POST", "/set/?key=bench-" .. i, hdr, value) end',
        '  return wrk.format("GET", "/get/?key=bench-" .. i, hdr)',
        'end',
      );
      break;
    case 'v1':
      lines.push(
        'local function req(i, write)',
        '  if write then return wrk.format("PUT", "/v1/kv/bench-" .. i, hdr, value) end',
        '  return wrk.format("GET", "/v1/kv/bench-" .. i, hdr)',
        'end',
      );
      break;
    case 'etcd':
      lines.push(
        'local names = {}',
        'for i = 0, keys - 1 do names[i] = b64("bench-" .. i) end',
        'local jh = { ["Content-Type"] = "application/json" }',
        'local function req(i, write)',
        '  if write then return wrk.format("POST", "/v3/kv/put", jh, \'{"key":"\' .. names[i] .. \'","value":"\' .. valb64 .. \'"}\') end',
        '  return wrk.format("POST", "/v3/kv/range", jh, \'{"key":"\' .. names[i] .. \'"}\')',
        'end',
      );
      break;
  }
  lines.push(
    'request = function()',
    '  local i = math.random(0, keys - 1)',
    '  local write = op == "set" or (op == "mixed" and math.random() < 0.5)',
    '  return req(i, write)',
    'end',
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("FOGBENCH %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,',
    '    e.connect + e.read + e.write + e.timeout, e.status,',
    '    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))',
    'end',
  );
  return lines.join('\n') + '\n';
}

export interface WrkResult {
  requests: number;
  elapsedS: number;
  errors: number;
  /** Answers that were not 2xx or 3xx. */
  bad: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** The FOGBENCH line the script's done() prints; throws when wrk printed none (it failed). */
export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith('FOGBENCH '));
  if (!line) throw new Error(`wrk printed no result line:\n${stdout.slice(0, 2000)}`);
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  if (n.length !== 8 || n.some((x) => !Number.isFinite(x))) throw new Error(`unreadable wrk result line: ${line}`);
  const [requests, durationUs, errors, bad, p50Us, p99Us, p999Us, maxUs] = n;
  return { requests, elapsedS: durationUs / 1e6, errors, bad, p50Us, p99Us, p999Us, maxUs };
}
