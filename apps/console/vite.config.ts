// Built into dist/ and served by `kaasctl server` under /console/ (assets under /console/assets/).
// No inline scripts or styles in the output: the server's CSP allows 'self' only.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // one module preload polyfill would be an inline script
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
