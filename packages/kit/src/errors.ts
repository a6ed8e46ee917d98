/**
 * The kit's own failures. A package that calls the kit wraps a KitError in its own code (its config
 * error, its key-file error) and keeps the kit's message, which names the file and what was wrong and
 * never the content of a secret.
 */
import { defineCatalogue, type ErrorOptions, NetwardError } from '@netward/errors';

export const KIT_ERRORS = defineCatalogue({
  ERR_KIT_CONFIG_READ: { message: 'the configuration file cannot be read', exit: 78 },
  ERR_KIT_CONFIG_TOO_LARGE: { message: 'the configuration file is larger than allowed', exit: 78 },
  ERR_KIT_CONFIG_SYNTAX: { message: 'the configuration is not valid YAML or JSON', exit: 78 },
  ERR_KIT_CONFIG_INVALID: { message: 'the configuration does not match its schema', exit: 78 },
  ERR_KIT_FILE_READ: { message: 'a private file cannot be read', exit: 78 },
  ERR_KIT_FILE_UNSAFE: { message: 'a private file is readable or writable by others', exit: 78 },
  ERR_KIT_ACCOUNT: { message: 'a service account or group cannot be created', exit: 1 },
  ERR_KIT_TEST_PREREQUISITE: { message: 'a test needs root and a program that is missing', exit: 1 },
  ERR_KIT_SSHD_START: { message: 'sshd did not start', exit: 1 },
});
export type KitErrorCode = keyof typeof KIT_ERRORS;

/** One problem in a configuration: where (dotted path, 1-based line and column when known) and what. */
export interface KitIssue {
  /** `token.algorithms[0]`; empty for the whole document. */
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export class KitError extends NetwardError<KitErrorCode> {
  static override readonly catalogue = KIT_ERRORS;
  override readonly name = 'KitError';
  /** The file (or source name) the error is about, when there is one. */
  readonly file: string | undefined;
  /** Every problem found in a configuration (ERR_KIT_CONFIG_*), in file order. */
  readonly issues: readonly KitIssue[];

  constructor(
    code: KitErrorCode,
    message?: string,
    options?: ErrorOptions & { readonly file?: string; readonly issues?: readonly KitIssue[] },
  ) {
    super(code, message, options);
    this.file = options?.file;
    this.issues = Object.freeze([...(options?.issues ?? [])]);
  }
}

/**
 * Runs `fn`; a KitError it throws becomes `wrap(error)`, the calling package's own error (its config
 * code, its key-file code), keeping the kit's message. Anything else passes through unchanged.
 */
export function withKitErrors<T>(fn: () => T, wrap: (error: KitError) => Error): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KitError) throw wrap(err);
    throw err;
  }
}
