import { ADDRESS_RE, FogError, NODE_ID_RE, WEIGHT_MODES, ZONE_RE, type NodeRegistration, type NodeState, type WeightBasis } from '@fog/protocol';

/** Heaviest weight a node may claim: a weight is a relative share, not a raw capacity. */
export const NODE_WEIGHT_MAX = 100;

/** A registered node: what it said about itself, and what the controller observed. */
export interface Member extends NodeRegistration {
  state: NodeState;
  registeredAtMs: number;
  lastHeartbeatMs: number;
}

/** A process run id: short, printable. */
const BOOT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws a 400 FogError naming the first field that is wrong. */
export function validateRegistration(reg: unknown): NodeRegistration {
  const r = reg as Partial<NodeRegistration>;
  const bad = (field: string) => new FogError('FOG_ERR_BAD_REQUEST', `registration field '${field}' is missing or invalid`, { field });
  if (typeof r !== 'object' || r === null) throw bad('body');
  if (typeof r.id !== 'string' || !NODE_ID_RE.test(r.id)) throw bad('id');
  if (r.role !== 'storage' && r.role !== 'frontend') throw bad('role');
  if (typeof r.address !== 'string' || !ADDRESS_RE.test(r.address)) throw bad('address');
  if (r.internal !== undefined && (typeof r.internal !== 'string' || !ADDRESS_RE.test(r.internal))) throw bad('internal');
  const zone = r.zone ?? 'default';
  if (typeof zone !== 'string' || !ZONE_RE.test(zone)) throw bad('zone');
  const weight = r.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > NODE_WEIGHT_MAX) throw bad('weight');
  if (r.empty !== undefined && typeof r.empty !== 'boolean') throw bad('empty');
  if (r.epoch !== undefined && !(Number.isSafeInteger(r.epoch) && r.epoch >= 0)) throw bad('epoch');
  if (r.boot !== undefined && (typeof r.boot !== 'string' || !BOOT_ID_RE.test(r.boot))) throw bad('boot');
  if (r.weightBasis !== undefined && !isWeightBasis(r.weightBasis)) throw bad('weightBasis');
  return {
    id: r.id, role: r.role, address: r.address, ...(r.internal !== undefined ? { internal: r.internal } : {}), zone, weight, empty: r.empty === true, epoch: r.epoch ?? 0,
    ...(r.boot !== undefined ? { boot: r.boot } : {}),
    ...(r.weightBasis !== undefined ? { weightBasis: copyBasis(r.weightBasis) } : {}),
  };
}

function isWeightBasis(b: unknown): b is WeightBasis {
  const x = b as WeightBasis;
  return typeof x === 'object' && x !== null && WEIGHT_MODES.includes(x.mode)
    && Number.isSafeInteger(x.cpus) && x.cpus >= 1 && x.cpus <= 65_536
    && Number.isSafeInteger(x.memoryBytes) && x.memoryBytes > 0
    && ['limit', 'cgroup', 'total'].includes(x.memorySource) && ['cpu', 'memory'].includes(x.limitedBy);
}

/** Only the known fields, so that nothing else a node sends is kept or shown. */
function copyBasis(b: WeightBasis): WeightBasis {
  return { mode: b.mode, cpus: b.cpus, memoryBytes: b.memoryBytes, memorySource: b.memorySource, limitedBy: b.limitedBy };
}
