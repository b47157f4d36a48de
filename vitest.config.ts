import { defineConfig } from 'vitest/config';

// Unit and kernel tests run in Node. Kernel tests use Dawn (the `webgpu` package) on a real adapter:
// SwiftShader here, a GPU where one exists. One fork keeps a single Dawn instance per test file.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
