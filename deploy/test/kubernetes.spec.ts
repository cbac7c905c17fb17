import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ROOT, commandWorks, flagsOf, itWhenInstalled, packageVersion, run, yamlDocs, yamlDocsOf } from './deploy-files';
import { ingressAllowed, type NetworkPolicySpec, type Source } from './network-policy';

const DIR = 'deploy/kubernetes';

// The schema of each kind (kubernetes-models: the OpenAPI schemas of Kubernetes 1.x, and the
// Prometheus Operator's for ServiceMonitor). validate() throws on a missing required field or a
// wrong type.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/Secret': Secret,
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

const kustomization = yamlDocs(`${DIR}/kustomization.yaml`)[0] as {
  resources: string[];
  namespace: string;
  images: Array<{ name: string; newTag: string }>;
  secretGenerator?: Array<{ name: string; files?: string[]; literals?: string[]; envs?: string[] }>;
};
const objects = kustomization.resources.flatMap((f) => yamlDocs(`${DIR}/${f}`)) as K8sObject[];
const find = (kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${DIR}`);
  return o;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const workloads = () => objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');

/** The Secret kustomize generates, and the file (and key) it is made from. */
const SECRET_NAME = 'fog-cluster-secret';
const SECRET_KEY = 'cluster-secret';

const policies = () => objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.spec as NetworkPolicySpec);

/**
 * Which sources reach each named container port of each workload. The pods' labels are those
 * kustomization.yaml gives them (the templates' labels plus its own), as they are once applied.
 */
function reachability(set: readonly NetworkPolicySpec[]): Record<string, string[]> {
  const ns = kustomization.namespace;
  const partOf = { 'app.kubernetes.io/part-of': 'velour-fog' };
  const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
  const sources: Record<string, Source> = {
    'cluster pod': { kind: 'pod', labels: { ...partOf, 'app.kubernetes.io/name': 'fog-controller' }, namespace: ns, namespaceLabels: nsLabels(ns) },
    'foreign pod': { kind: 'pod', labels: { app: 'something-else' }, namespace: ns, namespaceLabels: nsLabels(ns) },
    Prometheus: { kind: 'pod', labels: { 'app.kubernetes.io/name': 'prometheus' }, namespace: 'monitoring', namespaceLabels: nsLabels('monitoring') },
    'other namespace': { kind: 'pod', labels: { ...partOf, 'app.kubernetes.io/name': 'fog-storage' }, namespace: 'default', namespaceLabels: nsLabels('default') },
    'outside the cluster': { kind: 'external' },
  };
  const out: Record<string, string[]> = {};
  for (const w of workloads()) {
    const labels = { ...w.spec.template.metadata.labels, ...partOf };
    for (const port of w.spec.template.spec.containers[0].ports as Array<{ name: string; containerPort: number }>) {
      out[`${w.metadata.name}:${port.name}`] = Object.entries(sources)
        .filter(([, source]) => ingressAllowed(set, { labels, namespace: ns, port: { name: port.name, number: port.containerPort } }, source))
        .map(([label]) => label);
    }
  }
  return out;
}

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
      'Deployment/fog-frontend', 'Namespace/velour-fog', 'NetworkPolicy/fog-controller', 'NetworkPolicy/fog-frontend', 'NetworkPolicy/fog-storage',
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
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
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

  it('give every app the cluster secret as a file from the Secret kustomize generates, and commit no secret', () => {
    expect(kustomization.secretGenerator).toEqual([{ name: SECRET_NAME, files: [SECRET_KEY] }]);
    // No Secret object with its value among the committed manifests, and the file it is made from
    // is the operator's: ignored by git, not tracked, kept out of the image's build context.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(run('git', ['ls-files', '--', `${DIR}/${SECRET_KEY}`]).output).toBe('');
    expect(run('git', ['check-ignore', '-q', '--no-index', `${DIR}/${SECRET_KEY}`]).status).toBe(0);
    expect(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())).toContain(`${DIR}/${SECRET_KEY}`);
    const apps: string[] = [];
    for (const w of workloads()) {
      const pod = w.spec.template.spec;
      for (const c of pod.containers) {
        apps.push(c.name);
        const flags = flagsOf(c.args);
        expect({ container: c.name, insecure: flags.has('insecure'), secretOnCommandLine: flags.has('cluster-secret') }).toEqual({ container: c.name, insecure: false, secretOnCommandLine: false });
        // Never the value itself in the manifest: a variable of the secret's name comes from the Secret.
        for (const e of c.env ?? []) if (/SECRET/.test(e.name)) expect({ container: c.name, env: e.name, value: e.value }).toEqual({ container: c.name, env: e.name, value: undefined });
        const file = String(flags.get('cluster-secret-file'));
        const mount = (c.volumeMounts ?? []).find((m: { mountPath: string }) => path.posix.join(m.mountPath, SECRET_KEY) === file);
        expect({ container: c.name, file, mounted: Boolean(mount), readOnly: mount?.readOnly }).toEqual({ container: c.name, file, mounted: true, readOnly: true });
        const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
        expect({ container: c.name, secretName: volume.secret?.secretName }).toEqual({ container: c.name, secretName: SECRET_NAME });
        // Readable by the pod's group (fsGroup, the app's own group), by no one else.
        const mode = volume.secret.defaultMode as number;
        expect({ container: c.name, groupReads: (mode & 0o040) !== 0, othersRead: (mode & 0o007) !== 0, fsGroup: pod.securityContext.fsGroup }).toEqual({
          container: c.name, groupReads: true, othersRead: false, fsGroup: pod.securityContext.runAsGroup,
        });
      }
    }
    expect(apps.sort()).toEqual(['controller', 'frontend', 'storage']);
  });

  it('give storage nodes and frontends an internal port of their own, distinct from the client port', () => {
    for (const [kind, name] of [['StatefulSet', 'fog-storage'], ['Deployment', 'fog-frontend']] as const) {
      const c = find(kind, name).spec.template.spec.containers[0];
      const ports = Object.fromEntries(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort])) as Record<string, number>;
      expect({ name, names: Object.keys(ports).sort() }).toEqual({ name, names: ['http', 'internal'] });
      expect(ports.http).not.toBe(ports.internal);
      const flags = flagsOf(c.args);
      // The client port is the one --address advertises, the internal one --internal-port (advertised
      // on the same host: no --internal-address).
      expect({ name, client: Number(String(flags.get('address')).split(':').at(-1)), internal: Number(flags.get('internal-port')), internalAddress: flags.get('internal-address') }).toEqual({
        name, client: ports.http, internal: ports.internal, internalAddress: undefined,
      });
      // Probes ask the client port (/health and /ready are not on the internal one).
      expect([c.readinessProbe.httpGet.port, c.livenessProbe.httpGet.port]).toEqual(['http', 'http']);
    }
    expect(find('StatefulSet', 'fog-controller').spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)).toEqual(['http']);
    // The frontends' Service is for clients: the controller reaches each pod's internal port directly.
    expect(find('Service', 'fog-frontend').spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 'http' }]);
    const storagePorts = find('Service', 'fog-storage').spec.ports as Array<{ name: string; port: number; targetPort: string }>;
    const storageContainer = find('StatefulSet', 'fog-storage').spec.template.spec.containers[0];
    expect(storagePorts.map((p) => p.name)).toEqual(['http', 'internal']);
    for (const p of storagePorts) {
      expect(p.targetPort).toBe(p.name);
      expect(p.port).toBe(storageContainer.ports.find((cp: { name: string }) => cp.name === p.name).containerPort);
    }
  });

  it('let only the cluster\'s own pods reach the internal ports, Prometheus the monitoring ports, and clients the frontends', () => {
    const allowed = reachability(policies());
    expect(allowed).toEqual({
      'fog-controller:http': ['cluster pod', 'Prometheus'],
      'fog-storage:http': ['cluster pod', 'Prometheus'],
      'fog-storage:internal': ['cluster pod'],
      'fog-frontend:http': ['cluster pod', 'foreign pod', 'Prometheus', 'other namespace', 'outside the cluster'],
      'fog-frontend:internal': ['cluster pod'],
    });
  });

  it('really evaluate the policies: an internal port opened to every source is caught', () => {
    const open = structuredClone(policies());
    const storage = open.find((p) => p.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'fog-storage');
    if (!storage) throw new Error('no NetworkPolicy selects fog-storage');
    storage.ingress = [...(storage.ingress ?? []), { ports: [{ port: 'internal' }] }];
    expect(reachability(open)['fog-storage:internal']).toContain('outside the cluster');
    // Without any policy every pod accepts everything.
    expect(reachability([])['fog-frontend:internal']).toContain('outside the cluster');
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
    // /metrics is on the client port; the internal one is closed to Prometheus.
    expect(sm.spec.endpoints.map((e: { port: string }) => e.port)).toEqual(['http']);
  });

  itWhenInstalled('kubectl', commandWorks('kubectl', ['version', '--client']), 'https://kubernetes.io/docs/tasks/tools/')(
    'render with kubectl kustomize, once the operator made the secret file, into the same objects and the Secret, namespaced and labelled, each valid',
    () => {
      // A copy of the kit with a secret made as docs/deploy.md says (the kit itself holds none).
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-kustomize-'));
      try {
        for (const f of fs.readdirSync(path.join(ROOT, DIR)).filter((n) => n.endsWith('.yaml'))) fs.copyFileSync(path.join(ROOT, DIR, f), path.join(dir, f));
        expect(run('kubectl', ['kustomize', dir]).status).not.toBe(0);
        const secret = `${randomBytes(32).toString('base64')}\n`;
        fs.writeFileSync(path.join(dir, SECRET_KEY), secret, { mode: 0o600 });
        const r = run('kubectl', ['kustomize', dir]);
        expect(r.status).toBe(0);
        const rendered = yamlDocsOf(r.output, 'kubectl kustomize') as Array<K8sObject & { data?: Record<string, string> }>;
        const secrets = rendered.filter((o) => o.kind === 'Secret');
        expect(secrets.map((o) => o.metadata.name)).toEqual([expect.stringMatching(new RegExp(`^${SECRET_NAME}-[a-z0-9]+$`))]);
        expect(Buffer.from(secrets[0].data?.[SECRET_KEY] ?? '', 'base64').toString()).toBe(secret);
        const generatedName = secrets[0].metadata.name;
        expect(rendered.filter((o) => o.kind !== 'Secret').map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
        for (const o of rendered) {
          expect({ object: o.metadata.name, problem: validate(o) }).toEqual({ object: o.metadata.name, problem: null });
          expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('velour-fog');
          if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe(kustomization.namespace);
          if (o.kind === 'StatefulSet' || o.kind === 'Deployment') {
            expect(o.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('velour-fog');
            expect(o.spec.template.spec.containers[0].image).toBe(`velour-fog:${packageVersion()}`);
            // kustomize rewrote the reference to the generated (hashed) name.
            const secretVolumes = o.spec.template.spec.volumes.filter((v: { secret?: unknown }) => v.secret).map((v: { secret: { secretName: string } }) => v.secret.secretName);
            expect({ workload: o.metadata.name, secretVolumes }).toEqual({ workload: o.metadata.name, secretVolumes: [generatedName] });
          }
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
