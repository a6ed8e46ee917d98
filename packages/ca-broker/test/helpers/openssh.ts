// OpenSSH's own tools for the tests, shared with the codec's tests.

// Temporary directories are the kit's, as for every package.
export { tempDir } from '@netward/kit/testing';
export {
  listCertificate,
  requireProgram,
  SSH_KEYGEN,
  sshKeygen,
} from '@netward/ssh-certificate/testing';
