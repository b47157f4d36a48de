// One linter for the whole repository. The engine (src/engine) and the model layer (src/model) must stay free of
// React, stores, storage, the worker and feature code so they run the same in a Worker, a page and Node; only
// src/storage may import idb. ESLint's flat config does not merge a rule's options across blocks (the last
// block that matches a file sets them), so each folder gets exactly one no-restricted-imports block, and the
// blocks are disjoint: tests/lint-boundaries.test.ts lints a virtual engine file to keep that true.
import { readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/** .gitignore's patterns as flat-config ignores: lint what git tracks (dist-bench/ and the like are builds). */
function gitIgnores() {
  const lines = readFileSync(new URL('.gitignore', import.meta.url), 'utf8').split('\n');
  return lines
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'))
    .map((l) => {
      const anchored = l.startsWith('/') || l.slice(0, -1).includes('/');
      const body = l.replace(/^\//, '').replace(/\/$/, '');
      const base = anchored ? body : `**/${body}`;
      return l.endsWith('/') ? `${base}/` : base;
    });
}

const NO_IDB = { name: 'idb', message: 'Only src/storage talks to IndexedDB.' };
const PLATFORM_NEUTRAL = {
  paths: ['react', 'react-dom', 'zustand', 'recharts', NO_IDB],
  patterns: [
    {
      group: ['react/*', 'react-dom/*', 'zustand/*', 'recharts/*', 'idb/*'],
      message: 'The engine runs in Node and Workers too.',
    },
    {
      group: [
        '**/stores',
        '**/stores/**',
        '**/storage',
        '**/storage/**',
        '**/worker',
        '**/worker/**',
        '**/features',
        '**/features/**',
      ],
      message: 'The engine and the model layer depend on nothing of the app: the app depends on them.',
    },
  ],
};

export default tseslint.config(
  // public/ holds the bundled model and copied assets, not source.
  { ignores: [...gitIgnores(), 'public'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Ambient declarations of host globals: `declare var` is what puts a name on globalThis.
  { files: ['types/**/*.d.ts'], rules: { 'no-var': 'off' } },
  {
    files: ['src/**/*.tsx', 'src/features/**/*.ts', 'src/stores/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/storage/**', 'src/engine/**', 'src/model/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [NO_IDB] }] },
  },
  {
    files: ['src/engine/**/*.ts', 'src/model/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', PLATFORM_NEUTRAL] },
  },
);
