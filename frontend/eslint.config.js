// ESLint: the hooks rules, and the layers of STYLE.md made checkable (bulletproof-react):
// shared code (components, config, lib, testing, types) → features → app, features never import
// each other, and no import cycles. `src/testing/eslint-boundaries.test.ts` proves the rules fire.
import { readdirSync } from 'node:fs';
import path from 'node:path';

import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { flatConfigs as importXConfigs, importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;
const features = readdirSync(path.join(root, 'src/features'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const SHARED = ['./src/components', './src/config', './src/lib', './src/testing', './src/types'];

/** `import-x/no-restricted-paths` zones, relative to this directory. */
const boundaryZones = [
  // One zone per feature: it may import itself, never another feature.
  ...features.map((feature) => ({
    target: `./src/features/${feature}`,
    from: './src/features',
    except: [`./${feature}`],
    message: 'Features do not import each other: move the shared part to src/lib or src/components, or compose both in src/app/routes.',
  })),
  {
    target: './src/features',
    from: './src/app',
    message: 'Features do not import the app: the app composes features.',
  },
  {
    target: SHARED,
    from: ['./src/features', './src/app'],
    message: 'Shared code does not import features or the app (shared → features → app).',
  },
];

export default defineConfig([
  globalIgnores(['dist/', 'dev-dist/', 'test-artifacts/', 'src/types/api.gen.ts']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    plugins: { 'import-x': importX, 'react-hooks': reactHooks },
    languageOptions: { globals: globals.browser },
    settings: {
      ...importXConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: path.join(root, 'tsconfig.json') })],
    },
    rules: {
      // As tsc's noUnusedParameters: a leading underscore marks a parameter kept for its position.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: boundaryZones }],
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    // Playwright scripts: the callbacks given to page.evaluate run in the browser.
    files: ['e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
]);
