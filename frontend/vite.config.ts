/// <reference types="vitest/config" />
import { execSync } from 'node:child_process';
import { fileURLToPath, URL } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

import packageJson from './package.json' with { type: 'json' };

const backend = process.env.RELAYPACS_BACKEND_URL ?? 'http://127.0.0.1:8000';

const appVersion = packageJson.version;

/** The build id shown on Settings → This device: RELAYPACS_BUILD_ID, else the commit and build time. */
function buildId(): string {
  if (process.env.RELAYPACS_BUILD_ID) return process.env.RELAYPACS_BUILD_ID;
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short=10 HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout (e.g. a source tarball): the time alone identifies the build
  }
  return `${commit}-${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '')}`;
}

export default defineConfig({
  define: {
    __APP_VERSION__: JSON.stringify(appVersion),
    __APP_BUILD_ID__: JSON.stringify(buildId()),
  },
  plugins: [
    react(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      registerType: 'autoUpdate',
      injectRegister: false,
      manifestFilename: 'manifest.webmanifest',
      includeAssets: ['favicon.svg', 'icons/*.png', 'offline.html'],
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // The password-strength word lists (~1.6 MB) only serve registration and password changes,
        // which need the network anyway: not precached, so a phone's first visit stays light.
        // Sentry's SDK (src/lib/error-reporting) loads only when a DSN is configured: not
        // precached either; the browser's HTTP cache keeps it (immutable) once fetched.
        globIgnores: ['**/assets/zxcvbn-*.js', '**/assets/sentry-*.js'],
      },
      manifest: {
        id: '/',
        name: 'RelayPACS Gateway',
        short_name: 'RelayPACS',
        description: 'Send DICOM studies to PACS from the ward, even offline.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        theme_color: '#0b5394',
        background_color: '#ffffff',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          {
            src: '/icons/icon-maskable-512.png',
            sizes: '512x512',
            type: 'image/png',
            purpose: 'maskable',
          },
        ],
      },
      devOptions: { enabled: false, type: 'module' },
    }),
  ],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    // Source maps for Sentry, not referenced from the bundles (no sourceMappingURL comment),
    // not precached and not served by the gateway: upload them, then delete them
    // (docs/error-reporting.md).
    sourcemap: 'hidden',
    rollupOptions: {
      output: {
        chunkFileNames: (chunk) =>
          chunk.moduleIds.some((id) => id.includes('@zxcvbn-ts'))
            ? 'assets/zxcvbn-[hash].js'
            : chunk.moduleIds.some((id) => id.includes('@sentry'))
              ? 'assets/sentry-[hash].js'
              : 'assets/[name]-[hash].js',
      },
    },
  },
  server: {
    proxy: {
      '/api': backend,
      '/healthz': backend,
      '/readyz': backend,
    },
  },
  test: {
    environment: 'jsdom',
    globals: false,
    setupFiles: ['./src/testing/setup-tests.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    // Screen tests render whole pages with fake timers off; on a loaded 2-core machine 5 s is tight.
    testTimeout: 20_000,
  },
});
