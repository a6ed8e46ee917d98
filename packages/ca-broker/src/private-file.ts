import { readPrivateFile, withKitErrors } from '@netward/kit/files';
import { CaBrokerError } from './errors.ts';

/**
 * Reads a file that holds a credential (a CA key, an AppRole id, the operator token) with the kit's
 * checks: regular, not a symlink, owned by this process or root, nothing for group or others.
 * ERR_CA_KEY_PERMISSIONS when it is not private, ERR_CA_KEY_FILE when it cannot be read (the system
 * error, ENOENT included, stays the cause).
 */
export function readCredentialFile(file: string, what: string): Buffer {
  return withKitErrors(
    () => readPrivateFile(file, { what }),
    (e) => {
      const code = e.code === 'ERR_KIT_FILE_UNSAFE' ? 'ERR_CA_KEY_PERMISSIONS' : 'ERR_CA_KEY_FILE';
      return new CaBrokerError(code, e.message, { cause: e.cause ?? e });
    },
  );
}
