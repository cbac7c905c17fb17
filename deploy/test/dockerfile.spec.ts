import { readText, yamlDocs } from './deploy-files';

// Docker cannot build here (no engine): these checks read the Dockerfile as its parser would
// and hold it to what the kit promises.
interface Instruction {
  op: string;
  args: string;
  line: number;
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    const start = i + 1;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i].trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse '${line}'`);
    out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
  }
  return out;
}

const KNOWN = ['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL'];
const all = instructions(readText('Dockerfile'));
const stages: Array<{ name: string; body: Instruction[] }> = [];
for (const ins of all) {
  if (ins.op === 'FROM') stages.push({ name: /\bAS\s+(\S+)/i.exec(ins.args)?.[1] ?? '', body: [] });
  else stages.at(-1)?.body.push(ins);
}
const runtime = stages.at(-1)!;

describe('Dockerfile', () => {
  it('uses only known instructions, each stage named', () => {
    expect(all.filter((i) => !KNOWN.includes(i.op))).toEqual([]);
    expect(all[0].op === 'FROM' || all[0].op === 'ARG').toBe(true);
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
  });

  it('builds with the locked dependencies and copies only from earlier stages', () => {
    const runs = all.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci') && !r.includes('--omit=dev'))).toBe(true);
    expect(runs.some((r) => r.includes('npm ci --omit=dev'))).toBe(true);
    expect(runs.some((r) => r.includes('npm install'))).toBe(false);
    expect(runs.some((r) => /nx run-many -t build --projects=controller,frontend,storage,fogctl/.test(r))).toBe(true);
    expect(all.filter((i) => i.op === 'ADD')).toEqual([]);
    stages.forEach((stage, n) => {
      for (const copy of stage.body.filter((i) => i.op === 'COPY')) {
        const from = /--from=(\S+)/.exec(copy.args)?.[1];
        if (from) expect(stages.slice(0, n).map((s) => s.name)).toContain(from);
      }
    });
  });

  it('runs the apps as a non-root user from dist/apps with node, with a /data volume', () => {
    const users = runtime.body.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    const cmd = JSON.parse(runtime.body.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', 'dist/apps/controller/main.js']);
    expect(runtime.body.some((i) => i.op === 'COPY' && i.args.includes('--from=build') && i.args.includes('dist/apps'))).toBe(true);
    expect(runtime.body.some((i) => i.op === 'COPY' && i.args.includes('--from=deps') && i.args.includes('node_modules'))).toBe(true);
    expect(runtime.body.find((i) => i.op === 'VOLUME')?.args).toBe('["/data"]');
    // Nothing from the build stage's toolchain: no dev dependencies, no sources.
    expect(runtime.body.some((i) => i.op === 'COPY' && /--from=build\s+\/src\s/.test(i.args))).toBe(false);
  });

  it('exposes the ports the manifests use, client and internal', () => {
    type Workload = { spec?: { template?: { spec?: { containers?: Array<{ ports?: Array<{ containerPort: number }> }> } } } };
    const declared = ['controller', 'storage', 'frontend'].flatMap((f) =>
      (yamlDocs(`deploy/kubernetes/${f}.yaml`) as Workload[]).flatMap((o) => (o.spec?.template?.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => String(p.containerPort)))),
    );
    expect(declared.sort()).toEqual(['7000', '7100', '7200', '8000', '8100']);
    expect(runtime.body.find((i) => i.op === 'EXPOSE')?.args.split(/\s+/).sort()).toEqual(declared);
  });

  it('holds no cluster secret: the kit\'s secret files stay out of the build context', () => {
    const ignored = readText('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['deploy/secrets', 'deploy/kubernetes/cluster-secret']) expect(ignored).toContain(p);
    expect(all.filter((i) => /SECRET/i.test(i.args) && (i.op === 'ENV' || i.op === 'ARG'))).toEqual([]);
  });

  it('has a .dockerignore that keeps node_modules, dist and local state out of the context', () => {
    const ignored = readText('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git', '.nx', '.runlocal']) expect(ignored).toContain(p);
  });
});
