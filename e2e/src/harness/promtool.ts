import { spawnSync } from 'node:child_process';

let cached: boolean | undefined;

/** True when `promtool` runs from PATH. */
export function hasPromtool(): boolean {
  if (cached === undefined) {
    const r = spawnSync('promtool', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    cached = !r.error && r.status === 0;
  }
  return cached;
}

/** `promtool check metrics` on the text: exit status and output. */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
