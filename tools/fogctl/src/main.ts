import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import readline from 'node:readline';
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
  openOutput: (p) => new Promise((resolve, reject) => {
    const stream = createWriteStream(p, { flags: 'w' });
    stream.once('error', reject);
    stream.once('open', () => {
      stream.removeListener('error', reject);
      let failed: Error | null = null;
      stream.on('error', (err) => { failed = err; });
      resolve({
        write: (text) => new Promise<void>((res, rej) => {
          if (failed) return rej(failed);
          // Wait for the drain when the buffer is full, so memory stays bounded.
          if (stream.write(text)) res();
          else stream.once('drain', () => (failed ? rej(failed) : res()));
        }),
        close: () => new Promise<void>((res, rej) => stream.end((err?: Error | null) => (err || failed ? rej(err ?? failed) : res()))),
      });
    });
  }),
  readLines: (p) => readline.createInterface({ input: createReadStream(p), crlfDelay: Infinity }),
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
