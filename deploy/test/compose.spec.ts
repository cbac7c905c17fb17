import fs from 'node:fs';
import path from 'node:path';
import { ROOT, flagsOf, packageVersion, readText, run, yamlDocs } from './deploy-files';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  mem_limit?: string;
  secrets?: Array<string | { source: string; target?: string }>;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

const compose = yamlDocs('docker-compose.yml')[0] as Compose;
const services = Object.entries(compose.services);
const ofApp = (app: string) => services.filter(([, s]) => s.command?.[1] === `dist/apps/${app}/main.js`);

describe('docker-compose.yml', () => {
  it('runs a controller, 3 storage nodes, 2 frontends and Prometheus', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['controller', 'frontend-1', 'frontend-2', 'prometheus', 'storage-1', 'storage-2', 'storage-3']);
    expect(ofApp('controller').map(([n]) => n)).toEqual(['controller']);
    expect(ofApp('storage').map(([n]) => n)).toEqual(['storage-1', 'storage-2', 'storage-3']);
    expect(ofApp('frontend').map(([n]) => n)).toEqual(['frontend-1', 'frontend-2']);
  });

  it('builds one image of this release for every app, started with node', () => {
    const apps = [...ofApp('controller'), ...ofApp('storage'), ...ofApp('frontend')];
    for (const [name, s] of apps) {
      expect({ name, image: s.image, node: s.command?.[0] }).toEqual({ name, image: `velour-fog:${packageVersion()}`, node: 'node' });
    }
    expect(compose.services.controller.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(fs.existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
  });

  it('gives the controller and each storage node a volume of its own for --data-dir', () => {
    const mounts = [...ofApp('controller'), ...ofApp('storage')].map(([name, s]) => {
      expect(flagsOf(s.command ?? []).get('data-dir')).toBe('/data');
      const [volume, target] = (s.volumes ?? [''])[0].split(':');
      expect({ name, target, declared: volume in compose.volumes }).toEqual({ name, target: '/data', declared: true });
      return volume;
    });
    expect(new Set(mounts).size).toBe(mounts.length);
  });

  it('gives every node the address other containers reach it on, listening on all interfaces of its container', () => {
    const controllerFlags = flagsOf(compose.services.controller.command ?? []);
    expect(Number(controllerFlags.get('expected-storage'))).toBe(ofApp('storage').length);
    for (const [name, s] of [...ofApp('storage'), ...ofApp('frontend')]) {
      const flags = flagsOf(s.command ?? []);
      expect({ name, controller: flags.get('controller'), host: flags.get('host'), id: flags.get('id') }).toEqual({ name, controller: `controller:${controllerFlags.get('port')}`, host: '0.0.0.0', id: name });
      const address = String(flags.get('address'));
      expect(address.split(':')[0]).toBe(name);
      // The health check asks the port the node listens on.
      expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${address.split(':')[1]}/health`);
      expect(s.depends_on).toEqual({ controller: { condition: 'service_healthy' } });
    }
  });

  it('gives every app the cluster secret from a compose secret, a file the operator makes and git ignores', () => {
    expect(Object.keys(compose.secrets ?? {})).toEqual(['cluster-secret']);
    const file = compose.secrets?.['cluster-secret'].file ?? '';
    expect(file).toMatch(/^\.\//);
    const rel = path.posix.normalize(file);
    // The operator's own file: not tracked, ignored by git, kept out of the image's build context,
    // and made by the command the file's header and docs/deploy.md give.
    expect(run('git', ['ls-files', '--', rel]).output).toBe('');
    expect(run('git', ['check-ignore', '-q', '--no-index', rel]).status).toBe(0);
    const dockerignore = readText('.dockerignore').split('\n').map((l) => l.trim());
    expect(dockerignore.some((p) => rel === p || rel.startsWith(`${p}/`))).toBe(true);
    const make = `head -c 32 /dev/urandom | base64 > ${rel}`;
    expect(readText('docker-compose.yml')).toContain(make);
    expect(readText('docs/deploy.md')).toContain(make);
    const apps = [...ofApp('controller'), ...ofApp('storage'), ...ofApp('frontend')];
    expect(apps).toHaveLength(6);
    for (const [name, s] of apps) {
      const flags = flagsOf(s.command ?? []);
      // Compose mounts a secret at /run/secrets/NAME unless given another target.
      expect({ name, secrets: s.secrets, file: flags.get('cluster-secret-file'), insecure: flags.has('insecure') }).toEqual({
        name, secrets: ['cluster-secret'], file: '/run/secrets/cluster-secret', insecure: false,
      });
      for (const k of Object.keys(s.environment ?? {})) expect({ name, k, secret: /SECRET|INSECURE/.test(k) }).toEqual({ name, k, secret: false });
    }
  });

  it('gives storage nodes and frontends an internal port distinct from the client port, never published', () => {
    for (const [name, s] of [...ofApp('storage'), ...ofApp('frontend')]) {
      const flags = flagsOf(s.command ?? []);
      const client = Number(String(flags.get('address')).split(':')[1]);
      const internal = Number(flags.get('internal-port'));
      expect({ name, internal: internal > 0 && internal !== client, internalAddress: flags.get('internal-address') }).toEqual({ name, internal: true, internalAddress: undefined });
      const published = (s.ports ?? []).map((p) => Number(p.split(':').at(-1)));
      expect({ name, internalPublished: published.includes(internal) }).toEqual({ name, internalPublished: false });
    }
  });

  it('publishes ports on the loopback interface only', () => {
    for (const [name, s] of services) for (const p of s.ports ?? []) expect({ name, port: p }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/) });
  });

  it('keeps each storage node\'s memory bounds in order: --max-memory-bytes < heap limit < container limit', () => {
    for (const [name, s] of ofApp('storage')) {
      const limitBytes = Number(/^(\d+)g$/.exec(s.mem_limit ?? '')?.[1]) * 1024 ** 3;
      const heapBytes = Number(/--max-old-space-size=(\d+)/.exec(s.environment?.NODE_OPTIONS ?? '')?.[1]) * 1024 ** 2;
      const maxMemory = Number(flagsOf(s.command ?? []).get('max-memory-bytes'));
      expect({ name, ordered: maxMemory > 0 && maxMemory <= heapBytes * 0.6 && heapBytes <= limitBytes * 0.8 }).toEqual({ name, ordered: true });
    }
  });

  it('gives Prometheus the rules and a configuration naming every node service', () => {
    const prom = compose.services.prometheus;
    const files = (prom.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => v.split(':')[0]);
    expect(files.sort()).toEqual(['./deploy/prometheus/alerts.yml', './deploy/prometheus/prometheus-compose.yml']);
    for (const f of files) expect(fs.existsSync(path.join(ROOT, f))).toBe(true);
    const config = yamlDocs('deploy/prometheus/prometheus-compose.yml')[0] as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    const targets = config.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets)).sort();
    const expected = [...ofApp('controller'), ...ofApp('storage'), ...ofApp('frontend')].map(([name, s]) => {
      const flags = flagsOf(s.command ?? []);
      return name === 'controller' ? `controller:${flags.get('port')}` : String(flags.get('address'));
    });
    expect(targets).toEqual(expected.sort());
  });
});
