// `@netward/kit/testing`: real peers for tests and benchmarks (sshd), ports and temporary directories.
export { bundleInputs, bundleProgram } from './bundle.ts';
export { type CodedErrorClass, rejectedCode, thrownCode } from './errors.ts';
export { freePort } from './ports.ts';
export {
  acceptedPrivateFiles,
  PRIVATE_CONTENT,
  type PrivateFileCase,
  privateFile,
  unsafePrivateFiles,
} from './private-files.ts';
export { type SshClientOptions, sshClientArgs } from './ssh-client.ts';
export {
  DEVICE_ACCOUNTS,
  ensureDeviceAccounts,
  type RunningSshd,
  requireRoot,
  SSH,
  SSH_KEYGEN,
  SSHD,
  type SshdOptions,
  sshKeygen,
  startSshd,
} from './sshd.ts';
export { type TempDir, type TempDirOptions, tempDir } from './temp.ts';
