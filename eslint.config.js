import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  // test/package/consumer is a user's project: the pack test type-checks it against the packed package.
  { ignores: ['node_modules/', 'dist/', '.test-output/', 'coverage/', 'test/package/consumer/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no OpenAI SDK, and
    // nothing but types from activities (their values would drag I/O into the bundle).
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not import Node built-ins.' })),
            { name: 'openai', message: 'Workflow code must not import the OpenAI SDK; call an activity.' },
          ],
          patterns: [
            { group: ['openai/*'], message: 'Workflow code must not import the OpenAI SDK; call an activity.' },
            {
              group: ['../activities', '../activities/*', '../../activities/*'],
              allowTypeImports: true,
              message: 'Workflow code may import only types from activities/.',
            },
            {
              group: ['../src/*', '../../src/*', 'temporal-openai-batch'],
              allowTypeImports: true,
              message: 'Workflow code must not import the package root or src/ values.',
            },
          ],
        },
      ],
    },
  },
);
