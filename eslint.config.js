// Type-aware lint for the whole workspace. The import rules enforce the dependency arrows in
// docs/adr/0001-workspace-layout.md: `api` imports nothing of ours, providers never import apps,
// and nothing reaches into another package by a relative path.
import tseslint from 'typescript-eslint';
import globals from 'globals';
import jsxA11y from 'eslint-plugin-jsx-a11y';

const crossPackageRelative = {
  group: [
    '../../*/src/*',
    '../../../packages/*',
    '../../../apps/*',
    '**/packages/*/src/*',
    '**/apps/*/src/*',
  ],
  message: 'Import another workspace package by its name (@kaas/...), not by a relative path.',
};

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.kaas/**', '.test-output/**'],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      'no-restricted-imports': ['error', { patterns: [crossPackageRelative] }],
    },
  },
  {
    files: ['packages/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            crossPackageRelative,
            { group: ['@kaas/*', 'kaasctl'], message: '@kaas/api imports nothing of ours.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/**/*.ts'],
    ignores: ['packages/api/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            crossPackageRelative,
            { group: ['kaasctl', 'kaasctl/*'], message: 'Libraries never import apps.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  // the console runs in the browser: DOM globals, nothing Node-only, and accessibility rules
  // (labels, keyboard, real buttons) with 0 warnings
  {
    files: ['apps/console/src/**/*.{ts,tsx}'],
    ...jsxA11y.flatConfigs.recommended,
    languageOptions: {
      ...jsxA11y.flatConfigs.recommended.languageOptions,
      globals: { ...globals.browser },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        ecmaFeatures: { jsx: true },
      },
    },
  },
  {
    files: ['apps/console/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            crossPackageRelative,
            { group: ['node:*'], message: 'The console runs in the browser.' },
          ],
          paths: ['kaasctl', '@kaas/apiserver', '@kaas/auth', '@kaas/clusters', '@kaas/controllers'].map(
            (name) => ({
              name,
              message: 'The console imports nothing Node-only (only types and @kaas/api).',
            }),
          ),
        },
      ],
    },
  },
);
