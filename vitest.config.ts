import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    expect: { requireAssertions: true },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
