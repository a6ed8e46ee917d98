import { defineConfig } from 'vitest/config';

// One vitest project per package, plus the end-to-end suite in test/.
export default defineConfig({
  test: {
    projects: ['packages/*', 'test'],
  },
});
