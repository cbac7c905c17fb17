// Module boundaries are part of the architecture: apps depend on libs, never the reverse, and
// the pure core libs (placement, merging, clocks, decisions) import no HTTP, metrics or disk.
const nx = require('@nx/eslint-plugin');

const IO_PACKAGES = ['express', 'axios', 'prom-client', 'yargs', 'yargs/*', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'http', 'node:http', 'net', 'node:net', 'child_process', 'node:child_process'];

const DEP_CONSTRAINTS = (banned) => [
  { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core'], bannedExternalImports: banned },
  { sourceTag: 'type:io', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
];

module.exports = [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/.nx', 'tmp/**', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          // The chaos tool starts its clusters through the e2e harness, so both share one way
          // of starting the apps.
          allow: ['@fog/e2e-harness'],
          depConstraints: DEP_CONSTRAINTS(IO_PACKAGES),
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests of pure cores may read fixtures from disk; the code under test may not.
    files: ['**/*.spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: DEP_CONSTRAINTS([]) }],
    },
  },
];
