import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// The app lives in client/; the server (server/src/http.ts) serves the build from dist/client.
//
// Offline shell: a Workbox service worker (generateSW) precaches the built app; every
// navigation it does not know (such as /d/<docId>) gets the cached index.html, so a
// document opens without a network and shows what the local store holds. It updates
// itself (autoUpdate: skipWaiting + clientsClaim) when a new build is deployed.
export default defineConfig({
  root: here('./client'),
  plugins: [
    react(),
    VitePWA({
      strategies: 'generateSW',
      registerType: 'autoUpdate',
      injectRegister: 'script',
      manifest: {
        name: 'Eventide',
        short_name: 'Eventide',
        description: 'A collaborative text editor built on event sourcing',
        theme_color: '#1f6feb',
        background_color: '#f6f8fa',
        display: 'standalone',
        start_url: '/',
        icons: [{ src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,ico,webmanifest}'],
        navigateFallback: 'index.html',
        // The WebSocket and the health check are the server's, never the shell.
        navigateFallbackDenylist: [/^\/ws/, /^\/healthz/],
        cleanupOutdatedCaches: true,
        // autoUpdate: a new worker takes over at once, and controls the page that installed it
        // (so the first visit is already loadable offline).
        skipWaiting: true,
        clientsClaim: true,
        maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
      },
    }),
  ],
  // `npm run dev`: the app from Vite, the WebSocket from a server started with `npm start` (port 8080).
  server: {
    proxy: { '/ws': { target: 'ws://localhost:8080', ws: true } },
  },
  build: {
    outDir: here('./dist/client'),
    emptyOutDir: true,
    // One bundle with the core (sequencer-grade OT, zod): ~180 kB gzipped, fine for an editor.
    chunkSizeWarningLimit: 1024,
  },
});
