import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import pathgenLint from './infra/lint/import-cycles.js';

// Workflows run in Temporal's deterministic sandbox and are bundled for it: they may not reach
// Node built-ins, native packages or activity code. They see activities through two doors only:
// the stage factories, as types, and the contracts module, the one part of activities/ both sides
// import at runtime, since it holds nothing with side effects.
const forbiddenInWorkflows = [
  { group: ['node:*'], message: 'workflows are deterministic: no Node built-ins' },
  {
    group: ['sharp', 'onnxruntime-node', 'minio', 'openai', 'geotiff'],
    message: 'no native or I/O packages in workflows',
  },
  {
    regex: '^\\.\\./activities/(?!contracts/|stages/)',
    message: 'workflows take activity types from the stage factories (activities/stages/) or activities/contracts/',
  },
  {
    regex: '^\\.\\./activities/stages/',
    allowTypeImports: true,
    message: 'workflows import the stage factories as types only (their ReturnType is the activity interface)',
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

// Only the stage factories and the runtime helpers talk to Temporal; domain code stays testable
// and reusable without it (the CLI, benches and tests call it directly).
const temporalOutsideStages = {
  group: ['@temporalio/*'],
  message: 'only activities/stages/ and activities/runtime/ import @temporalio (domain code knows nothing of Temporal)',
};
// Activities reach workflow-side names only through activities/contracts/.
const workflowsFromActivities = {
  group: ['**/workflows/*', '**/workflows/**'],
  message: 'activities import nothing from workflows/: shared names live in activities/contracts/',
};

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
    files: ['activities/**/*.ts'],
    ignores: ['activities/stages/**', 'activities/runtime/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [temporalOutsideStages, workflowsFromActivities] }],
    },
  },
  {
    files: ['activities/stages/**/*.ts', 'activities/runtime/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [workflowsFromActivities] }] },
  },
  {
    files: ['**/*.ts'],
    plugins: { pathgen: pathgenLint },
    rules: { 'pathgen/import-cycles': 'error' },
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
