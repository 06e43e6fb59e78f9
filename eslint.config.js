// ESLint (flat config): type-aware typescript-eslint rules for src/ and test/; formatting is Prettier's job
// (eslint-config-prettier turns off every rule that would fight it). `npm run lint`; CI runs it (.ci/run).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'bench/**', '*.js', '*.cjs', '*.mjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'console/src/**/*.{ts,tsx}'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // tsconfig.json covers src/, test/ and bench/, so one type-checked program serves every file; the
      // console's browser code has its own (console/tsconfig.json), which the project service finds.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A leading underscore marks a parameter kept for an interface's signature, or a property left out of a rest copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Async methods implement async interfaces (SDK EventStore/Transport, tool handlers) with synchronous bodies;
      // `async` keeps a throw a rejection, which is what their callers handle.
      '@typescript-eslint/require-await': 'off',
      // `Promise.reject(err)` re-rejects a caught `unknown`, the same as rethrowing it (which only-throw-error allows).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // A `let` read by a callback before its one assignment (a server's verifyClient naming the server) cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read untyped wire data (supertest bodies, parsed frames, SDK results) through `any` on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  prettier,
);
