import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Generous defaults: the machine may be shared and fully busy. A test that runs long under
    // load (the demo, the 10,000-device lab) sets its own, larger timeout.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Network tests bind many loopback sockets; two files at a time suits a 2-core machine.
    maxWorkers: 2,
    // Every process a test starts is marked and killed when its test or file ends; the run fails
    // if any is still alive at its end (test/processes.ts).
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    teardownTimeout: 30_000,
  },
});
