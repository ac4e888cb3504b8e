import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // gpg agents and gRPC servers are per-file; two workers match the 2-core machine.
    maxWorkers: 2,
  },
});
