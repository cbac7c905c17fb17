import { computePlacement } from './placement';
import type { PlacementInput } from './placement-types';
import { computePlacementWire, decodePlacementInput, decodePlacementResult, encodePlacementInput, encodePlacementResult } from './placement-wire';
import { mulberry32, randomCases, randomInt, shuffled } from './testing/seeded-random';

/** Through the wire (structured clone included, as a worker thread would receive it) and back. */
function viaWire(input: PlacementInput) {
  const wire = encodePlacementInput(input);
  const result = structuredClone(computePlacementWire(structuredClone(wire)).result);
  return decodePlacementResult(input, wire, result);
}

describe('placement over the wire', () => {
  it.each(randomCases(700, 12, 256).map((c) => [c.seed, c] as const))('gives what computePlacement gives, first table then churn (seed %s)', (_, c) => {
    const rng = mulberry32(c.seed);
    const first: PlacementInput = { nodes: c.nodes, redundancy: c.redundancy, partitions: c.partitions };
    const direct = computePlacement(first);
    const wired = viaWire(first);
    expect(JSON.stringify(wired)).toBe(JSON.stringify(direct));
    // A node leaves and another joins: most rows are unchanged and must be the previous arrays.
    const survivors = shuffled(rng, c.nodes).slice(0, Math.max(1, c.nodes.length - 1));
    const nodes = [...survivors, { id: `joiner-${randomInt(rng, 0, 999)}`, zone: 'zone-1', weight: 2 }];
    const next: PlacementInput = { nodes, redundancy: c.redundancy, partitions: c.partitions, previous: direct.replicas };
    const again = computePlacement(next);
    const againWired = viaWire(next);
    expect(JSON.stringify(againWired)).toBe(JSON.stringify(again));
    for (let p = 0; p < c.partitions; p++) expect(againWired.replicas[p] === direct.replicas[p]).toBe(again.replicas[p] === direct.replicas[p]);
  });

  it('refers to a previous result the other thread holds instead of sending it again', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id, zone: id, weight: 1 }));
    // The other thread computes the first table and keeps its rows as request 1's result.
    const first = computePlacementWire(structuredClone(encodePlacementInput({ nodes, redundancy: 2, partitions: 256 })));
    const held = { id: 1, replicas: first.replicas };
    // This side adopted the decoded result; the next plan starts from it.
    const firstHere = decodePlacementResult({ nodes, redundancy: 2, partitions: 256 }, encodePlacementInput({ nodes, redundancy: 2, partitions: 256 }), first.result);
    const next: PlacementInput = { nodes: [...nodes, { id: 'e', zone: 'e', weight: 1 }], redundancy: 2, partitions: 256, previous: firstHere.replicas };
    const wire = encodePlacementInput(next, 1);
    expect(wire.previous).toBeNull();
    const { result } = computePlacementWire(structuredClone(wire), held);
    expect(JSON.stringify(decodePlacementResult(next, wire, result))).toBe(JSON.stringify(computePlacement(next)));
    expect(result.changed.length).toBeLessThan(256);
    // A reference to a result the thread does not hold is refused, not guessed at.
    expect(() => computePlacementWire(wire, { id: 2, replicas: first.replicas })).toThrow(/not held/);
    expect(() => computePlacementWire(wire, null)).toThrow(/not held/);
  });

  it('keeps previous rows that name nodes no longer placed, and repeated ids, as they were', () => {
    const nodes = [{ id: 'a', zone: 'z', weight: 1 }, { id: 'b', zone: 'z', weight: 1 }, { id: 'c', zone: 'z', weight: 1 }];
    const previous = [['a', 'gone'], ['b', 'b'], ['c'], []];
    const input: PlacementInput = { nodes, redundancy: 2, partitions: 4, previous };
    expect(decodePlacementInput(structuredClone(encodePlacementInput(input)))).toEqual(input);
    expect(JSON.stringify(viaWire(input))).toBe(JSON.stringify(computePlacement(input)));
  });

  it('lists only the rows that changed', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id, zone: id, weight: 1 }));
    const before = computePlacement({ nodes, redundancy: 2, partitions: 256 });
    const input: PlacementInput = { nodes, redundancy: 2, partitions: 256, previous: before.replicas };
    const wire = encodePlacementInput(input);
    const decoded = decodePlacementInput(wire);
    const result = encodePlacementResult(wire, decoded, computePlacement(decoded));
    expect(result.changed.length).toBe(0);
    expect(decodePlacementResult(input, wire, result).replicas.every((row, p) => row === before.replicas[p])).toBe(true);
  });

  it('refuses a result that does not fit its input', () => {
    const nodes = [{ id: 'a', zone: 'z', weight: 1 }];
    const input: PlacementInput = { nodes, redundancy: 1, partitions: 4 };
    const wire = encodePlacementInput(input);
    const { result } = computePlacementWire(wire);
    expect(() => decodePlacementResult({ ...input, partitions: 16 }, wire, result)).toThrow(/partitions/);
    expect(() => decodePlacementResult(input, wire, { ...result, nodes: Int32Array.from([7, 7, 7, 7]) })).toThrow(/index outside/);
    expect(() => decodePlacementResult(input, wire, { ...result, changed: Int32Array.from([0, 1]), rowStart: Int32Array.from([0, 1, 2]) })).toThrow(/omits row 2/);
  });
});
