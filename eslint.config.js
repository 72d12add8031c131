import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflows run in Temporal's deterministic sandbox and are bundled for it: they may not reach
// Node built-ins, native packages or activity code (types only).
const forbiddenInWorkflows = [
  { group: ['node:*'], message: 'workflows are deterministic: no Node built-ins' },
  {
    group: ['sharp', 'onnxruntime-node', 'minio', 'openai', 'geotiff'],
    message: 'no native or I/O packages in workflows',
  },
  {
    group: ['../activities/*', '../activities/**'],
    allowTypeImports: true,
    message: 'workflows import activities as types only',
  },
  { group: ['../workers/*', '../workers/**'], message: 'workflows may not import worker code' },
];
const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'crypto',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['.scratch/**', 'dist/', 'node_modules/', '.tools/', '.state/', '.pathgen/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflows are deterministic: no Node built-ins' })),
          patterns: forbiddenInWorkflows,
        },
      ],
    },
  },
  {
    // vitest's asymmetric matchers (expect.objectContaining, …) are typed `any`, and tests read JSON
    // records back to assert on their fields.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
