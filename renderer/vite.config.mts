import path from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The launcher window and the Lab window's status strip are served with `script-src 'self';
// style-src 'self'`: everything must be a file next to its page (no inline scripts or styles, no
// CDN), reached by relative paths so the pages work from app:// or file:// alike. Two pages:
// index.html (the launcher) and strip.html (the strip); they share theme.css and limits-view.ts.
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
    rollupOptions: {
      input: {
        index: path.resolve(root, 'index.html'),
        strip: path.resolve(root, 'strip.html'),
      },
      // What both pages load (React, theme.css, limits-view.ts) is one shared chunk.
      output: { chunkFileNames: 'assets/shared-[hash].js' },
    },
  },
});
