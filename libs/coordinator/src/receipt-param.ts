import { FogError, parseVersion, type Version } from '@fog/protocol';

/**
 * A read's receipt, from the x-fog-after header or the `after` query parameter (one of them,
 * once): the version the answer must reach. Null when neither is given.
 */
export function afterParam(header: unknown, query: unknown): Version | null {
  if (header !== undefined && query !== undefined) throw new FogError('FOG_ERR_BAD_REQUEST', 'give x-fog-after or ?after=, not both');
  const text = header ?? query;
  if (text === undefined) return null;
  const v = typeof text === 'string' ? parseVersion(text.replace(/^(W\/)?"(.*)"$/, '$2')) : null;
  if (!v) throw new FogError('FOG_ERR_BAD_REQUEST', 'x-fog-after (or after) must be one version <ms>.<counter>.<writer>, as x-fog-version gives it');
  return v;
}
