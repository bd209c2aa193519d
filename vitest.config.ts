import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that compare measured host time with bounds (CPU shares, throttling,
 * relative timings, guest clocks against wall time) or that declare a worker
 * hung after a short silence. They run on their own, after the rest, so that
 * the other test files' load on the two cores cannot push them out of bounds.
 */
const TIMING = [
  'src/vmm/scheduler.share.test.ts',
  'src/vmm/worker/guest-runtime.test.ts',
  'src/vmm/shared/spsc-ring.test.ts',
  'src/core/snapshot/machine-snapshot.test.ts',
  'src/vmm/coordinator.test.ts',
  'src/vmm/linux-guests.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...TIMING],
          // Both cores: the long files (JIT differential and fuzz halves, Linux boots) overlap.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'timing',
          include: TIMING,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
