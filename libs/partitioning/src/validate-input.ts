import type { PlacementNode } from './placement-types';

/** Throws on input no placement can honour; a silent best effort would hide a caller's bug. */
export function assertPlacementParams(nodes: readonly PlacementNode[], partitions: number, redundancy: number): void {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`partitions must be an integer >= 1, got ${partitions}`);
  }
  if (!Number.isInteger(redundancy) || redundancy < 1) {
    throw new Error(`redundancy must be an integer >= 1, got ${redundancy}`);
  }
  if (!Array.isArray(nodes)) throw new Error('nodes must be an array');
  const seen = new Set<string>();
  for (const node of nodes) {
    if (typeof node.id !== 'string' || node.id.length === 0) throw new Error('node id must be a non-empty string');
    if (typeof node.zone !== 'string') throw new Error(`node ${node.id}: zone must be a string`);
    if (seen.has(node.id)) throw new Error(`duplicate node id: ${node.id}`);
    seen.add(node.id);
    if (typeof node.weight !== 'number' || !Number.isFinite(node.weight) || node.weight <= 0) {
      throw new Error(`node ${node.id}: weight must be a finite number > 0, got ${node.weight}`);
    }
  }
}
