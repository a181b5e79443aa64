import path from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The launcher window is served with `script-src 'self'; style-src 'self'`: everything must be a
// file next to index.html (no inline scripts or styles, no CDN), reached by relative paths so the
// page works from app:// or file:// alike.
const root = import.meta.dirname;

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: path.resolve(root, '../dist/renderer'),
    emptyOutDir: true,
    target: 'chrome130',
    // The polyfill is inlined into the entry chunk; Chromium has modulepreload natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
