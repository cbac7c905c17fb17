import fs from 'node:fs/promises';
import { runCli } from './cli';

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

runCli(process.argv.slice(2), {
  stdout: (d) => process.stdout.write(d),
  stderr: (t) => process.stderr.write(t),
  readStdin,
  readFile: (p) => fs.readFile(p),
  env: process.env,
  // The bar goes to stderr; with stdout redirected the run is a script's: plain lines then.
  isTty: Boolean(process.stderr.isTTY && process.stdout.isTTY),
  columns: process.stderr.columns,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  nowMs: () => Date.now(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`fogctl: internal error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
