#!/usr/bin/env node
// Install the locked dependencies when they are missing, so that on a fresh clone `npm test`
// and `./runlocal.sh` work by themselves. Runs `npm ci` (exactly package-lock.json) when
// node_modules is absent or lacks a package that package.json names (e.g. after a pull that
// added one); otherwise does nothing. Plain CommonJS with no dependency: it runs before any
// are installed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const NODE_MAJOR_MIN = 20;
const root = path.resolve(__dirname, '..');

function missingPackages() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  return names.filter((name) => !fs.existsSync(path.join(root, 'node_modules', name, 'package.json')));
}

function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < NODE_MAJOR_MIN) {
    process.stderr.write(`error: Node.js ${NODE_MAJOR_MIN} or newer is needed (found ${process.version})\n`);
    return 1;
  }
  const missing = missingPackages();
  if (missing.length === 0) return 0;
  const shown = missing.length > 5 ? `${missing.slice(0, 5).join(', ')} and ${missing.length - 5} more` : missing.join(', ');
  process.stderr.write(`dependencies missing (${shown}): running npm ci\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.error) {
    process.stderr.write(`error: could not run npm ci: ${r.error.message}\n`);
    return 1;
  }
  if (r.status !== 0) {
    process.stderr.write(`error: npm ci failed (${r.signal ? `signal ${r.signal}` : `exit status ${r.status}`})\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
