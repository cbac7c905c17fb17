// Key -> partition.
export { partitionOf, partitionOfBytes, PARTITION_DIGITS_EXACT_MAX } from './partition-of';

// Placement.
export type { PlacementNode, PlacementInput, Placement } from './placement-types';
export type { ReplicaReason } from './reasons';
export { computePlacement } from './placement';
export { describeReason, REPLICA_REASONS } from './reasons';
export { fairShares, totalSlots, waterFill } from './fair-share';
export { quotaBounds, roundShares, SHARE_FRACTION_EPSILON_SLOTS } from './quotas';
export { rendezvousScore, rendezvousUniform } from './rendezvous';
export { canonicalNodes, compareIds, zoneIndices } from './node-order';

// Table diffs.
export type { PartitionMove } from './table-diff';
export { diffPlacement, movedReplicaCount } from './table-diff';

// Weight from capacity.
export { AUTO_WEIGHT, autoWeight, describeWeight, type CapacityInput } from './auto-weight';

// Placement on another thread: inputs and results as flat arrays.
export type { PlacementInputWire, PlacementResultWire } from './placement-wire';
export { computePlacementWire, decodePlacementInput, decodePlacementResult, encodePlacementInput, encodePlacementResult } from './placement-wire';
