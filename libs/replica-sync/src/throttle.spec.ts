import { ByteThrottle } from './throttle';

describe('the node-wide copy throttle', () => {
  it('holds the average rate for every copy together', () => {
    const t = new ByteThrottle(1000, 500);
    let now = 0;
    let sent = 0;
    // Four copies each taking 250-byte pages in turn, each waiting what the throttle says.
    const waitUntil = [0, 0, 0, 0];
    while (now < 10_000) {
      for (let c = 0; c < 4; c++) {
        if (waitUntil[c] > now) continue;
        sent += 250;
        waitUntil[c] = now + t.reserve(250, now);
      }
      now += 10;
    }
    // 10 s at 1000 B/s plus one burst: never four times the ceiling.
    expect(sent).toBeLessThanOrEqual(10 * 1000 + 500 + 4 * 250);
    expect(sent).toBeGreaterThanOrEqual(9 * 1000);
  });

  it('lets a burst go at once after a quiet period, and no more', () => {
    const t = new ByteThrottle(100, 300);
    expect(t.reserve(300, 0)).toBe(0);
    expect(t.reserve(100, 0)).toBe(1000);
    expect(t.reserve(0, 60_000)).toBe(0);
    expect(t.reserve(400, 60_000)).toBe(1000);
  });

  it('refuses a zero or negative ceiling', () => {
    expect(() => new ByteThrottle(0, 10)).toThrow(RangeError);
  });
});
