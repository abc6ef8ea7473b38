/// <reference types="vitest/config" />
// Static build into dist/ (served by NGINX at `/`, same origin as `/api/...`).
// The API base is VITE_API_URL at build time; '' means same origin.
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    // Small enough to inline nothing surprising; keep sourcemaps out of the image.
    sourcemap: false,
  },
  server: {
    // `npm run dev` talks to a stack started by `make up`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    unstubGlobals: true,
    testTimeout: 20_000,
  },
})
