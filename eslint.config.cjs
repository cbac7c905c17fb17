// Module boundaries are part of the architecture: apps depend on libs, never the reverse, and
// the pure core libs (placement, merging, clocks, decisions) import no HTTP, metrics or disk.
const nx = require('@nx/eslint-plugin');

const IO_PACKAGES = ['express', 'axios', 'prom-client', 'yargs', 'yargs/*', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'http', 'node:http', 'net', 'node:net', 'child_process', 'node:child_process'];

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
          allow: [],
          depConstraints: [
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core'], bannedExternalImports: IO_PACKAGES },
            { sourceTag: 'type:io', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:core', 'type:io'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
