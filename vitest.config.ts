import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Network tests bind many loopback sockets; two files at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});
