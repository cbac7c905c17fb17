import type { ClusterView } from '@fog/protocol';
import { renderStatusPage } from './status-page';

const view: ClusterView = {
  epoch: 3, redundancy: 3, partitionDigits: 1, partitions: 16, formed: true, storageRegistered: 3, storageExpected: 3, movesPending: 0,
  nodes: [{ id: 'evil</script><script>alert(1)</script>', role: 'storage', address: 'h:1', zone: 'z', weight: 1, state: 'up', lastHeartbeatAgoMs: 5 }],
  moves: [], movesOmitted: 0, atMs: 1000, health: null, events: [],
  progress: { startedAtMs: null, movesTotal: 0, movesDone: 0, bytesCopied: 0, bytesTotal: null, rateBytesPerSec: null, etaMs: null, rateWindowMs: 10_000 },
};

describe('status page', () => {
  const html = renderStatusPage(view);

  it('carries the view it was served with, and no string in it can close the script', () => {
    const m = /var FOG_INITIAL = (.*); var FOG_CONFIG/.exec(html);
    expect(m).not.toBeNull();
    expect(JSON.parse(m![1])).toEqual(view);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });

  it('loads nothing from elsewhere: no external scripts, styles, fonts or images', () => {
    expect(html).not.toMatch(/\bsrc=|<link|@import|url\(|https?:\/\//);
  });
});
