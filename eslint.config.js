// Lint rules that keep the layers honest: no `any`, no import cycles, and the
// engine (src/core) never reaches up into the coordinator or the UI.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'public/**', 'test-results/**', '**/*.mjs', 'scripts/**/*.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js'] })],
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts', 'src/core/**/test-support/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/vmm/**', '**/ui/**', '**/cli/**', 'react', 'react-dom'], message: 'src/core is the worker-safe engine: it must not import the coordinator, UI or CLI.' },
          { group: ['node:*', 'fs', 'path', 'os', 'child_process'], message: 'src/core runs in browser workers: no Node modules.' },
        ],
      }],
      'no-restricted-globals': ['error', 'window', 'document', 'Buffer', 'process'],
    },
  },
  {
    files: ['src/vmm/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/ui/**', 'react', 'react-dom'], message: 'The coordinator does not depend on the UI.' }],
      }],
    },
  },
  {
    // What runs inside guest workers (and is shared with them) stays worker-safe:
    // no coordinator, no platform host adapters, no Node modules, no DOM globals.
    files: ['src/vmm/shared/**/*.ts', 'src/vmm/worker/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test-support/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../*.ts', '**/host/**', '**/ui/**', 'react', 'react-dom'], message: 'Worker-side code must not import the coordinator, the host adapters or the UI.' },
          { group: ['node:*', 'fs', 'path', 'os', 'worker_threads'], message: 'Worker-side code runs in browser workers: no Node modules.' },
        ],
      }],
      'no-restricted-globals': ['error', 'window', 'document', 'Buffer', 'process'],
    },
  },
);
