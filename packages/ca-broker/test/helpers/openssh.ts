// OpenSSH's own tools for the tests, shared with the codec's tests.
export {
  listCertificate,
  requireProgram,
  SSH_KEYGEN,
  sshKeygen,
  tempDir,
} from '@netward/ssh-certificate/testing';
