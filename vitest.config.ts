import { defineConfig } from 'vitest/config';

// Two projects. `unit` needs no GPU: plain TypeScript, the float64 reference, parsers, stores; its files run in
// parallel. `gpu` opens a real adapter through Dawn (the `webgpu` package: SwiftShader here, a GPU where one
// exists) or runs the CLI, which does: one fork at a time keeps a single Dawn instance per test file, and the
// project runs after `unit` so the two never compete for the adapter or the cores.
// tests/vitest-projects.test.ts fails when a file that opens a device is missing from GPU_TESTS.
export const GPU_TESTS = [
  'tests/bench.random.test.ts',
  'tests/bench.run.test.ts',
  'tests/cli.mamba2.test.ts',
  'tests/stories.measured.test.ts',
  'tests/cli.test.ts',
  'tests/cli.studies.test.ts',
  'tests/default-model.engine.test.ts',
  'tests/default-model-mamba2.engine.test.ts',
  'tests/engine.activations.test.ts',
  'tests/engine.batch.test.ts',
  'tests/engine.decode-fused.test.ts',
  'tests/engine.decode-middle.test.ts',
  'tests/engine.errors.test.ts',
  'tests/engine.fixtures.test.ts',
  'tests/engine.int8.test.ts',
  'tests/engine.mamba2.test.ts',
  'tests/engine.mamba2-batch.test.ts',
  'tests/engine.mamba2-inproj-split.test.ts',
  'tests/engine.mamba2-norm-fold.test.ts',
  'tests/engine.m2-ssd-sgmm.test.ts',
  'tests/engine.prefill-tiles.test.ts',
  'tests/engine.sgmm-emulated.test.ts',
  'tests/engine.state.test.ts',
  'tests/kernels.batch.test.ts',
  'tests/kernels.bind-by-name.test.ts',
  'tests/kernels.f16-emulated.test.ts',
  'tests/kernels.int8.test.ts',
  'tests/kernels.gemv-fused.test.ts',
  'tests/kernels.models.test.ts',
  'tests/kernels.sgmm-emulated.test.ts',
  'tests/kernels.mamba2.test.ts',
  'tests/kernels.mamba2-batch.test.ts',
  'tests/kernels.m2-ssd-sgmm.test.ts',
  'tests/shaders.compile.test.ts',
  'tests/kernels.test.ts',
  'tests/kernels.w8a8.test.ts',
  'tests/mix.gpu.test.ts',
  'tests/model-engine.test.ts',
  'tests/states.engine.mamba2.test.ts',
  'tests/states.engine.test.ts',
  'tests/studies.gpu.test.ts',
  'tests/studies.service.test.ts',
  'tests/worker-service.gpu-mix.test.ts',
  'tests/worker-service.mamba2.test.ts',
  'tests/worker-service.test.ts',
];

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: GPU_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: GPU_TESTS,
          pool: 'forks',
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
