import type { FogClient, ReadOptions, StoredValue, WriteResult } from './fog-client';
import { FogSession } from './fog-session';

/** A client stand-in: records the receipts reads carry, answers versions it is told to. */
function stubClient() {
  const reads: Array<{ key: string; after?: string }> = [];
  let nextWrite = 1;
  const stored = new Map<string, string>();
  const client = {
    async get(key: string, opts: ReadOptions = {}): Promise<StoredValue | null> {
      reads.push({ key, after: opts.after });
      const version = stored.get(key);
      return version ? { value: Buffer.from('v'), version, partition: 0 } : null;
    },
    async put(key: string): Promise<WriteResult> {
      const version = `${1000 + nextWrite++}.0.fe`;
      return { key, version, partition: 0, replicas: 1 };
    },
    async delete(key: string): Promise<WriteResult> {
      return { key, version: `${1000 + nextWrite++}.0.fe`, partition: 0, replicas: 1, deleted: true };
    },
    async append(key: string): Promise<WriteResult> {
      return { key, version: `${1000 + nextWrite++}.0.fe`, partition: 0, replicas: 1, bytes: 1 };
    },
  };
  return { client: client as unknown as FogClient, reads, stored };
}

describe('FogSession', () => {
  it('sends the version of its own last write of a key with every read of it', async () => {
    const { client, reads } = stubClient();
    const s = new FogSession(client);
    await s.get('k');
    expect(reads[0]).toEqual({ key: 'k', after: undefined });
    const w = await s.put('k', 'v');
    await s.get('k', { r: 1 });
    expect(reads[1]).toEqual({ key: 'k', after: w.version });
    const d = await s.delete('k');
    await s.get('k');
    expect(reads[2].after).toBe(d.version);
    await s.get('other');
    expect(reads[3].after).toBeUndefined();
  });

  it('keeps the newest version it saw, written or read, so its reads never go back', async () => {
    const { client, reads, stored } = stubClient();
    const s = new FogSession(client);
    await s.put('k', 'v');
    stored.set('k', '9999.0.other');
    await s.get('k');
    await s.get('k');
    expect(reads[1].after).toBe('9999.0.other');
    // An older version read later does not lower the receipt.
    stored.set('k', '1.0.old');
    await s.get('k');
    expect(s.receipt('k')).toBe('9999.0.other');
  });

  it('remembers at most receiptsMax keys, forgetting the least recently used', async () => {
    const { client } = stubClient();
    const s = new FogSession(client, 2);
    await s.put('a', 'v');
    await s.put('b', 'v');
    await s.append('a', 'v');
    await s.put('c', 'v');
    expect(s.receipt('a')).toBeDefined();
    expect(s.receipt('b')).toBeUndefined();
    expect(s.receipt('c')).toBeDefined();
    expect(() => new FogSession(client, 0)).toThrow(RangeError);
  });
});
