import { readReply } from './load';
import { buildRequest, parseWrkOutput, wrkScript } from './request-shapes';

describe('buildRequest', () => {
  const v = Buffer.from('xyz');
  it('uses the original API for Velour Fog and the anchors', () => {
    expect(buildRequest('original', false, 7, v, 'h:1').toString()).toBe('GET /get/?key=bench-7 HTTP/1.1\r\nHost: h:1\r\n\r\n');
    expect(buildRequest('original', true, 7, v, 'h:1').toString()).toBe('POST /set/?key=bench-7 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nxyz');
  });
  it('speaks RESP to redis and the JSON gateway to etcd', () => {
    expect(buildRequest('redis', true, 1, v, '').toString()).toBe('*3\r\n$3\r\nSET\r\n$7\r\nbench-1\r\n$3\r\nxyz\r\n');
    const etcd = buildRequest('etcd', false, 1, v, 'h:2').toString();
    expect(etcd).toContain('POST /v3/kv/range');
    expect(etcd.endsWith(`{"key":"${Buffer.from('bench-1').toString('base64')}"}`)).toBe(true);
  });
});

describe('wrk', () => {
  it('writes a script whose reads and writes cover the preloaded keys only', () => {
    const s = wrkScript('original', 'mixed', 1000, 100, 1);
    expect(s).toContain('local keys = 1000');
    expect(s).toContain('math.random(0, keys - 1)');
    expect(s).toContain('/set/?key=bench-');
    expect(s).toContain('/get/?key=bench-');
  });
  it('reads the result line', () => {
    const out = 'Running 5s test\n  1 threads and 50 connections\nFOGBENCH 50000 5000000 3 7 1200 4500 9000 12000\n';
    expect(parseWrkOutput(out)).toEqual({ requests: 50000, elapsedS: 5, errors: 3, bad: 7, p50Us: 1200, p99Us: 4500, p999Us: 9000, maxUs: 12000 });
    expect(() => parseWrkOutput('unable to connect\n')).toThrow(/no result line/);
  });
});

describe('readReply', () => {
  it('waits for a whole HTTP body and tells 2xx from the rest', () => {
    const full = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
    expect(readReply('http', full.subarray(0, full.length - 1))).toBeNull();
    expect(readReply('http', full)).toEqual({ used: full.length, ok: true });
    const missing = Buffer.from('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    expect(readReply('http', missing)).toEqual({ used: missing.length, ok: false });
  });
  it('reads chunked bodies', () => {
    const r = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    expect(readReply('http', r)).toEqual({ used: r.length, ok: true });
  });
  it('reads RESP: a nil for a preloaded key is not OK', () => {
    expect(readReply('resp', Buffer.from('+OK\r\n'))).toEqual({ used: 5, ok: true });
    expect(readReply('resp', Buffer.from('$3\r\nab'))).toBeNull();
    expect(readReply('resp', Buffer.from('$3\r\nabc\r\n'))).toEqual({ used: 9, ok: true });
    expect(readReply('resp', Buffer.from('$-1\r\n'))).toEqual({ used: 5, ok: false });
    expect(readReply('resp', Buffer.from('-ERR x\r\n'))).toEqual({ used: 8, ok: false });
  });
});
