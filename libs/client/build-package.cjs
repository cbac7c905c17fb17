// Builds libs/client into an installable npm package in dist/client-package: one CommonJS
// bundle (axios and @fog/protocol inside it, so the package has no dependencies and installs
// offline), an ES module that re-exports it, type declarations, package.json and README.
// Run by the `build` target of the client project; `npm pack dist/client-package` packs it.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '../..');
const out = path.join(root, 'dist', 'client-package');
const PACKAGE_NAME = '@velour-fog/client';

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

esbuild.buildSync({
  entryPoints: [path.join(__dirname, 'src', 'index.ts')],
  outfile: path.join(out, 'index.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  tsconfig: path.join(root, 'tsconfig.base.json'),
  legalComments: 'linked',
  logLevel: 'warning',
});

// One implementation for both module systems: the ES module re-exports the CommonJS one, so
// a program that reaches the package both ways gets the same classes (instanceof holds).
const names = Object.keys(require(path.join(out, 'index.cjs'))).filter((n) => n !== 'default' && n !== '__esModule').sort();
fs.writeFileSync(path.join(out, 'index.mjs'), `import client from './index.cjs';\n\nexport const { ${names.join(', ')} } = client;\nexport default client;\n`);

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(__dirname, 'tsconfig.package.json')], { stdio: 'inherit', cwd: root });
// The declarations keep tsconfig path imports (@fog/protocol): point them at the emitted files.
const typesDir = path.join(out, 'types');
const protocolIndex = path.join(typesDir, 'libs', 'protocol', 'src', 'index');
for (const file of walk(typesDir)) {
  const text = fs.readFileSync(file, 'utf8');
  let rel = path.relative(path.dirname(file), protocolIndex).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const fixed = text.replace(/(['"])@fog\/protocol\1/g, `'${rel}'`);
  if (/@fog\//.test(fixed)) throw new Error(`${file} still imports a workspace library`);
  if (fixed !== text) fs.writeFileSync(file, fixed);
}
const typesEntry = './types/libs/client/src/index.d.ts';
fs.writeFileSync(path.join(out, 'index.d.mts'), `export * from '${typesEntry.replace(/\.d\.ts$/, '.js')}';\n`);

const rootPackage = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const pkg = {
  name: PACKAGE_NAME,
  version: rootPackage.version,
  description: 'Client of the Velour Fog distributed key-value store: get, put, delete, append, batch, scans, buckets, restore, with failover over frontends discovered from one address.',
  license: rootPackage.license ?? 'UNLICENSED',
  type: 'commonjs',
  main: './index.cjs',
  module: './index.mjs',
  types: typesEntry,
  exports: {
    '.': {
      import: { types: './index.d.mts', default: './index.mjs' },
      require: { types: typesEntry, default: './index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['index.cjs', 'index.mjs', 'index.d.mts', 'index.cjs.LEGAL.txt', 'types', 'README.md'],
  engines: { node: '>=20.12' },
  sideEffects: false,
};
fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
fs.copyFileSync(path.join(__dirname, 'README.md'), path.join(out, 'README.md'));

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.d.ts')) yield p;
  }
}
