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
      // Bounds a hung test, not a speed target: at a load average of 25-35 on two shared cores, tests
      // that take 2-5 s on an idle machine took just over 10 s (program starts, real sshd logins).
      testTimeout: overrides.testTimeout ?? 30_000,
    },
  });
}
