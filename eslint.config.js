// Type-aware lint for the whole workspace. The import rules enforce the dependency arrows in
// docs/adr/0001-workspace-layout.md: `api` imports nothing of ours, providers never import apps,
// and nothing reaches into another package by a relative path.
import tseslint from 'typescript-eslint';
import globals from 'globals';

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
    ignores: ['**/node_modules/**', '**/dist/**', '.kaas/**', '.test-output/**', 'apps/console/**'],
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
);
