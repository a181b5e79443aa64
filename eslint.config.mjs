import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const RAW_IPC = 'Raw IPC only in electron/shell/ipc.ts (main) and the preloads (electron/shell/preload.ts, strip-preload.ts); use the contract in electron/common/ipc-contract.ts.';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'test-artifacts/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The core is plain Node: it must never reach for Electron (DESIGN.md, layers).
    files: ['electron/core/**/*.ts', 'electron/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'electron/core and the CLI must not import electron; put Electron wiring in electron/shell.' }], patterns: [{ group: ['electron/*', '**/shell/**'], message: 'The core must not depend on the Electron shell.' }] }],
    },
  },
  {
    // Build and check scripts run under plain Node.
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // Raw IPC lives in one file per side: electron/shell/ipc.ts registers the contracts in main
    // (sender check, then validation), electron/shell/preload.ts exposes the launcher's and
    // electron/shell/strip-preload.ts the Lab window strip's. Everything else goes through those
    // (GitHub Desktop's habit). The core and CLI blocks above already ban electron altogether,
    // so they are left out here.
    files: ['**/*.{ts,tsx,mts,cts,js,jsx,mjs,cjs}'],
    ignores: ['electron/core/**', 'electron/cli/**', 'electron/shell/ipc.ts', 'electron/shell/preload.ts', 'electron/shell/strip-preload.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: RAW_IPC }] }],
      'no-restricted-properties': ['error', { object: 'electron', property: 'ipcMain', message: RAW_IPC }, { object: 'electron', property: 'ipcRenderer', message: RAW_IPC }],
      'no-restricted-syntax': ['error', { selector: "MemberExpression[object.callee.name='require'][object.arguments.0.value='electron'][property.name=/^ipc(Main|Renderer)$/]", message: RAW_IPC }],
    },
  },
);
