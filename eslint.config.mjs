// Lint: typescript-eslint with type information. Workflow code (and the pure domain
// it imports) must stay deterministic: no Node built-ins, and only `import type`
// from anything that does I/O. Promises must be awaited or explicitly voided.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.config.js', '*.config.mjs', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read untyped JSON bodies.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts', 'venue/exchange.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must be deterministic: no Node built-ins.' })),
          patterns: [
            {
              group: [
                '**/activities/**',
                '**/persistence/**',
                '**/api/**',
                '**/runtime/**',
                '**/events/**',
                '**/subscribers/**',
                '**/venue/simulated/**',
                '**/workers/**',
                '**/clients/**',
                '**/messaging/**',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '@mikro-orm/*',
                '@nats-io/*',
                'pg',
                'pino',
                'koa',
              ],
              allowTypeImports: true,
              message: 'Workflow code may only `import type` from modules that do I/O.',
            },
          ],
        },
      ],
    },
  },
);
