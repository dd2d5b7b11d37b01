import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console is served by `basalt up` from the build folder; the output folder is given by the
// build (`--outDir`), hashed assets go under assets/ so the server can cache them for good.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    assetsDir: 'assets',
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8081', '/data': 'http://127.0.0.1:8081' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
