import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository root: deploy/test -> ../.. */
export const ROOT = path.resolve(__dirname, '..', '..');

export function readText(rel: string): string {
  return fs.readFileSync(path.join(ROOT, rel), 'utf8');
}

/** Every YAML document of a file, parsed strictly (a syntax error or duplicate key throws). */
export function yamlDocs(rel: string): unknown[] {
  return yamlDocsOf(readText(rel), rel);
}

export function yamlDocsOf(text: string, label: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const out: unknown[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length) throw new Error(`${label}: ${d.errors.map((e) => e.message).join('; ')}`);
    const value = d.toJS({ maxAliasCount: 100 }) as unknown;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** True when `cmd args` runs and exits 0 (e.g. `promtool --version`). */
export function commandWorks(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0;
}

/** Run a command; its status and combined output. */
export function run(cmd: string, args: string[], cwd = ROOT): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * `it` when the tool is installed; otherwise a skipped test, and the reason printed once so the
 * skip is visible in the run's output.
 */
export function itWhenInstalled(tool: string, installed: boolean, packageHint: string): jest.It {
  if (!installed) {
    process.stderr.write(`deploy checks: ${tool} is not installed (${packageHint}); the tests that need it are skipped\n`);
    return it.skip;
  }
  return it;
}

/** `--name=value` and `--name value` flags of a command line, by name. */
export function flagsOf(args: readonly string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !String(args[i + 1]).startsWith('--')) flags.set(a.slice(2), String(args[++i]));
    else flags.set(a.slice(2), true);
  }
  return flags;
}

/** The release in the root package.json: the tag the image is built and deployed with. */
export function packageVersion(): string {
  return (JSON.parse(readText('package.json')) as { version: string }).version;
}
