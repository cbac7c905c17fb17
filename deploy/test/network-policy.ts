// A small reading of Kubernetes NetworkPolicy ingress rules (networking.k8s.io/v1), enough to
// ask of the kit's policies "may this source reach this port of this pod?". It follows the
// documented semantics: a pod selected by no Ingress policy accepts everything; a selected pod
// accepts what some rule of some selecting policy allows; a rule without `from` allows every
// source, without `ports` every port; a peer with only podSelector means pods of the policy's
// namespace, with only namespaceSelector every pod of the matching namespaces, with both the
// matching pods of the matching namespaces; an ipBlock matches sources outside the cluster.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: Array<{ from?: Peer[]; ports?: Array<{ port?: string | number; protocol?: string }> }>;
}

/** Who is asking: a pod (its labels and its namespace's labels) or a machine outside the cluster. */
export type Source = { kind: 'pod'; labels: Record<string, string>; namespace: string; namespaceLabels: Record<string, string> } | { kind: 'external' };

/** The target: a pod of the policies' namespace, and one of its container ports (name and number). */
export interface Target {
  labels: Record<string, string>;
  namespace: string;
  port: { name: string; number: number };
}

export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function peerMatches(peer: Peer, source: Source, targetNamespace: string): boolean {
  if (peer.ipBlock) return source.kind === 'external';
  if (source.kind !== 'pod') return false;
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, source.namespaceLabels) : source.namespace === targetNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, source.labels) : true;
  return namespaceOk && podOk;
}

/** True when the policies let `source` open a TCP connection to `target`. */
export function ingressAllowed(policies: readonly NetworkPolicySpec[], target: Target, source: Source): boolean {
  const applying = policies.filter((p) => (p.policyTypes ?? ['Ingress']).includes('Ingress') && selects(p.podSelector, target.labels));
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (p.ingress ?? []).some((rule) => {
      const portOk = !rule.ports || rule.ports.length === 0 || rule.ports.some((pp) => (pp.protocol ?? 'TCP') === 'TCP' && (pp.port === undefined || pp.port === target.port.name || pp.port === target.port.number));
      const fromOk = !rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, source, target.namespace));
      return portOk && fromOk;
    }),
  );
}
