// What other packages' tests use to run a real broker in process (`@netward/ca-broker/testing`, sources
// only, never built): the lab's OpenBao test drives the vault backend through it.
export { createVaultBackend } from '../../src/signers/vault.ts';
export * from './broker.ts';
export * from './idp.ts';
export { tempDir } from './openssh.ts';
