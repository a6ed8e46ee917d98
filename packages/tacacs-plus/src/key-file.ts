import { readPrivateFile, stripNewline, withKitErrors } from '@netward/kit/files';
import { TacacsError } from './errors.ts';

/**
 * Reads a TACACS+ shared key from a file: the whole content, minus one trailing newline ("\n" or
 * "\r\n") so that `echo secret > file` works. A file that group or others can read, a symlink, or a file
 * another account owns is refused, as OpenSSH refuses such private keys: a shared key is a credential
 * (the checks are @netward/kit's, made on the descriptor that is read). The key never appears in an error.
 */
export function readKeyFile(path: string): Buffer {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError('key file path must be a non-empty string');
  const key = withKitErrors(
    () => stripNewline(readPrivateFile(path, { what: 'key file' })),
    (cause) => new TacacsError('ERR_TACACS_KEY_FILE', cause.message, { cause }),
  );
  if (key.length === 0) throw new TacacsError('ERR_TACACS_KEY_FILE', `key file ${path} is empty`);
  return Buffer.from(key);
}
