import { Namespace, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { commandWorks, flagsOf, itWhenInstalled, packageVersion, run, yamlDocs, yamlDocsOf } from './deploy-files';

const DIR = 'deploy/kubernetes';

// The schema of each kind (kubernetes-models: the OpenAPI schemas of Kubernetes 1.x, and the
// Prometheus Operator's for ServiceMonitor). validate() throws on a missing required field or a
// wrong type.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // The manifests are checked against their schema first; the rest reads them loosely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
}

const kustomization = yamlDocs(`${DIR}/kustomization.yaml`)[0] as { resources: string[]; namespace: string; images: Array<{ name: string; newTag: string }> };
const objects = kustomization.resources.flatMap((f) => yamlDocs(`${DIR}/${f}`)) as K8sObject[];
const find = (kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${DIR}`);
  return o;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

function validate(o: K8sObject): string | null {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return `no schema known for ${o.apiVersion} ${o.kind}`;
  try {
    new Model(o as never).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('Kubernetes manifests', () => {
  it('hold every object the kit needs', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/fog-frontend', 'Namespace/velour-fog', 'NetworkPolicy/fog-frontend', 'NetworkPolicy/fog-internal',
      'PodDisruptionBudget/fog-frontend', 'PodDisruptionBudget/fog-storage', 'Service/fog-controller', 'Service/fog-frontend',
      'Service/fog-storage', 'ServiceMonitor/velour-fog', 'StatefulSet/fog-controller', 'StatefulSet/fog-storage',
    ]);
  });

  it('run the image of this release', () => {
    expect(kustomization.images).toEqual([{ name: 'velour-fog', newTag: packageVersion() }]);
  });

  it('match the schema of their kind', () => {
    expect(objects.map((o) => ({ object: `${o.kind}/${o.metadata.name}`, problem: validate(o) }))).toEqual(
      objects.map((o) => ({ object: `${o.kind}/${o.metadata.name}`, problem: null })),
    );
  });

  it('really check the schema: a broken object is refused', () => {
    const broken = structuredClone(find('StatefulSet', 'fog-storage'));
    broken.spec.replicas = 'three';
    delete broken.spec.selector;
    expect(validate(broken)).toMatch(/selector|replicas/);
  });

  it('run storage as a StatefulSet with a claim template per pod behind a headless Service', () => {
    const sts = find('StatefulSet', 'fog-storage');
    const svc = find('Service', sts.spec.serviceName);
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.publishNotReadyAddresses).toBe(true);
    expect(matches(svc.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    expect(sts.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toEqual(['data']);
    const c = sts.spec.template.spec.containers[0];
    expect(c.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    const flags = flagsOf(c.args);
    expect(flags.get('data-dir')).toBe('/data');
    // The address other pods reach it on is its own DNS name under the headless Service, on the container port.
    expect(flags.get('address')).toBe(`$(POD_NAME).${svc.metadata.name}.$(POD_NAMESPACE).svc:${c.ports[0].containerPort}`);
    expect(flags.get('host')).toBe('0.0.0.0');
    expect(flags.get('id')).toBe('$(POD_NAME)');
    expect(c.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE']));
  });

  it('keep the controller state on a volume and give every node its address', () => {
    const sts = find('StatefulSet', 'fog-controller');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const c = sts.spec.template.spec.containers[0];
    const flags = flagsOf(c.args);
    expect(flags.get('data-dir')).toBe('/data');
    expect(Number(flags.get('expected-storage'))).toBeLessThanOrEqual(find('StatefulSet', 'fog-storage').spec.replicas);
    const svc = find('Service', 'fog-controller');
    const controllerAddress = `${svc.metadata.name}:${svc.spec.ports[0].port}`;
    for (const name of ['fog-storage']) expect(flagsOf(find('StatefulSet', name).spec.template.spec.containers[0].args).get('controller')).toBe(controllerAddress);
    expect(flagsOf(find('Deployment', 'fog-frontend').spec.template.spec.containers[0].args).get('controller')).toBe(controllerAddress);
  });

  it('serve the frontends behind a Service and keep disruptions within quorum', () => {
    const dep = find('Deployment', 'fog-frontend');
    const svc = find('Service', 'fog-frontend');
    expect(matches(svc.spec.selector, dep.spec.template.metadata.labels)).toBe(true);
    expect(dep.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(find('PodDisruptionBudget', 'fog-storage').spec.maxUnavailable).toBe(1);
    for (const [pdb, workload] of [['fog-storage', find('StatefulSet', 'fog-storage')], ['fog-frontend', dep]] as const) {
      expect(matches(find('PodDisruptionBudget', pdb).spec.selector.matchLabels, workload.spec.template.metadata.labels)).toBe(true);
    }
  });

  it('run every container as a non-root user without privilege escalation, with a memory limit over the heap limit', () => {
    for (const w of objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')) {
      const pod = w.spec.template.spec;
      expect({ workload: w.metadata.name, runAsNonRoot: pod.securityContext.runAsNonRoot, uid: pod.securityContext.runAsUser > 0 }).toEqual({ workload: w.metadata.name, runAsNonRoot: true, uid: true });
      for (const c of pod.containers) {
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.command.slice(0, 2)).toEqual(['node', `dist/apps/${c.name}/main.js`]);
        const limitMiB = Number(/^(\d+)Mi$/.exec(c.resources.limits.memory)?.[1] ?? Number(/^(\d+)Gi$/.exec(c.resources.limits.memory)?.[1]) * 1024);
        const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(c.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS').value)?.[1]);
        expect({ container: c.name, heapUnderLimit: heapMiB > 0 && heapMiB <= limitMiB * 0.8 }).toEqual({ container: c.name, heapUnderLimit: true });
        const maxMemory = flagsOf(c.args).get('max-memory-bytes');
        if (maxMemory !== undefined) expect(Number(maxMemory)).toBeLessThanOrEqual(heapMiB * 1024 * 1024 * 0.6);
      }
    }
  });

  it('keep the internal ports to the cluster pods (and Prometheus), the frontends open', () => {
    const internal = find('NetworkPolicy', 'fog-internal');
    const covered = internal.spec.podSelector.matchExpressions[0].values as string[];
    expect(covered.sort()).toEqual(['fog-controller', 'fog-storage']);
    expect(internal.spec.policyTypes).toEqual(['Ingress']);
    const from = internal.spec.ingress.flatMap((r: { from: unknown[] }) => r.from);
    expect(from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'velour-fog' } } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    expect(find('NetworkPolicy', 'fog-frontend').spec.ingress).toEqual([{ ports: [{ port: 'http' }] }]);
  });

  it('let Prometheus scrape every Service on its named port', () => {
    const sm = find('ServiceMonitor', 'velour-fog');
    const names = sm.spec.selector.matchExpressions[0].values as string[];
    for (const name of names) {
      const svc = find('Service', name);
      expect(svc.metadata.labels?.['app.kubernetes.io/name']).toBe(name);
      expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(sm.spec.endpoints[0].port);
    }
    expect(names.sort()).toEqual(['fog-controller', 'fog-frontend', 'fog-storage']);
  });

  itWhenInstalled('kubectl', commandWorks('kubectl', ['version', '--client']), 'https://kubernetes.io/docs/tasks/tools/')(
    'render with kubectl kustomize into the same objects, namespaced and labelled, each valid',
    () => {
      const r = run('kubectl', ['kustomize', DIR]);
      expect(r.status).toBe(0);
      const rendered = yamlDocsOf(r.output, 'kubectl kustomize') as K8sObject[];
      expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      for (const o of rendered) {
        expect({ object: o.metadata.name, problem: validate(o) }).toEqual({ object: o.metadata.name, problem: null });
        expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('velour-fog');
        if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe(kustomization.namespace);
        if (o.kind === 'StatefulSet' || o.kind === 'Deployment') {
          expect(o.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('velour-fog');
          expect(o.spec.template.spec.containers[0].image).toBe(`velour-fog:${packageVersion()}`);
        }
      }
    },
  );
});
