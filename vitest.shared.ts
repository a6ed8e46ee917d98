import { defineProject } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "netward-source" condition, so tests
// and typecheck run on src/ without a build step; the built dist/ is what runs in the lab.
// Vite's own defaults for the server environment follow the project's condition.
const conditions = ['netward-source', 'module', 'node', 'development|production'];

export function packageProject(name: string, overrides: { testTimeout?: number; include?: string[] } = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      include: overrides.include ?? ['test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 10_000,
    },
  });
}
