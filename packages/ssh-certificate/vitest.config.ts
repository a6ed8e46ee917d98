import { packageProject } from '../../vitest.shared.ts';

export default packageProject('ssh-certificate');
