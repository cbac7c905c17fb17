import type { Entry } from '@fog/lww';
import { FogError, formatVersion, parseVersion, type Version } from '@fog/protocol';
import type { Decide } from './conditional';

/**
 * What a conditional request requires of the stored value:
 * match: its version is one of these (If-Match: "v1", "v2"); exists: there is a value
 * (If-Match: *); absent: there is none (If-None-Match: *).
 */
export type Precondition =
  | { kind: 'none' }
  | { kind: 'match'; versions: Version[] }
  | { kind: 'exists' }
  | { kind: 'absent' };

/** Entity tags as sent: quoted or bare versions, comma-separated, a weak W/ prefix ignored. */
function parseTags(header: string, name: string): Version[] | '*' {
  const parts = header.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 1 && parts[0] === '*') return '*';
  if (parts.length === 0) throw new FogError('FOG_ERR_BAD_REQUEST', `${name} is empty`);
  return parts.map((part) => {
    const bare = part.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    const v = parseVersion(bare);
    if (!v) throw new FogError('FOG_ERR_BAD_REQUEST', `${name} must hold * or versions as returned in ETag, e.g. "1795243311748.0.frontend-1"`);
    return v;
  });
}

export function parsePreconditions(ifMatch: string | undefined, ifNoneMatch: string | undefined): Precondition {
  if (ifMatch !== undefined && ifNoneMatch !== undefined) throw new FogError('FOG_ERR_BAD_REQUEST', 'give If-Match or If-None-Match, not both');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw new FogError('FOG_ERR_BAD_REQUEST', 'If-None-Match supports only * (create if absent)');
    return { kind: 'absent' };
  }
  if (ifMatch === undefined) return { kind: 'none' };
  const tags = parseTags(ifMatch, 'If-Match');
  return tags === '*' ? { kind: 'exists' } : { kind: 'match', versions: tags };
}

const live = (e: Entry | null): e is Entry => e !== null && e.value !== null;
const same = (a: Version, b: Version) => a.ms === b.ms && a.c === b.c && a.w === b.w;

/** Throws FOG_ERR_VERSION_CONFLICT (with the current version) unless the stored entry satisfies it. */
export function checkPrecondition(pre: Precondition, current: Entry | null): void {
  let ok: boolean;
  switch (pre.kind) {
    case 'none': ok = true; break;
    case 'exists': ok = live(current); break;
    case 'absent': ok = !live(current); break;
    case 'match': ok = live(current) && pre.versions.some((v) => same(v, current.ver)); break;
  }
  if (!ok) {
    const version = live(current) ? formatVersion(current.ver) : null;
    throw new FogError('FOG_ERR_VERSION_CONFLICT', version ? `the stored version is ${version}` : 'the key has no value', { current: version });
  }
}

/** Replace the value (null: delete) if the precondition holds. */
export function replaceIf(pre: Precondition, value: Buffer | null): Decide {
  return (current) => {
    checkPrecondition(pre, current);
    return value;
  };
}

/** Append bytes to the value (a missing or deleted key counts as empty) if the precondition holds. */
export function appendIf(pre: Precondition, bytes: Buffer, valueBytesMax: number): Decide {
  return (current) => {
    checkPrecondition(pre, current);
    const base = current?.value ?? Buffer.alloc(0);
    if (base.length + bytes.length > valueBytesMax) {
      throw new FogError('FOG_ERR_VALUE_TOO_LARGE', `the value would grow to ${base.length + bytes.length} bytes, over the limit of ${valueBytesMax}`, { valueBytesMax, bytes: base.length + bytes.length });
    }
    return Buffer.concat([base, bytes]);
  };
}
