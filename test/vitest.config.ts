import { packageProject } from '../vitest.shared.ts';

export default packageProject('e2e', { include: ['**/*.test.ts'], testTimeout: 120_000 });
