import { defineCatalogue, NetwardError } from '@netward/errors';

/**
 * Every failure of this package is a PolicyError with a stable code. Callers branch on `code`, never on
 * the message. A policy file error carries every problem found (`issues`), each naming the file, the path
 * inside it and what was expected, so an operator fixes the file in one pass.
 */
// Exit statuses follow netward-policy's: 2 for a file or option that cannot be used, 1 for a deployed
// file that differs (the same status as a denied `explain` or a hole found by `check`).
export const POLICY_ERRORS = defineCatalogue({
  /** The policy file does not match the format: wrong type, unknown key, refused regex, duplicate name. */
  ERR_POLICY_INVALID: { message: 'invalid policy file', exit: 2 },
  /** The policy file (or a deployed artifact) cannot be read. */
  ERR_POLICY_READ: { message: 'cannot read the policy file', exit: 2 },
  /** A local rules file (the validator's offline rules) does not match its format. */
  ERR_POLICY_LOCAL_RULES_INVALID: { message: 'invalid local rules file', exit: 2 },
  /** A regular expression outside the subset on which JavaScript and tac_plus-ng agree, or one that can
   *  take super-linear time (nested quantifiers). */
  ERR_POLICY_REGEX: { message: 'pattern outside the supported regex subset', exit: 2 },
  /** A render option that cannot be written safely (a key with a newline, a listen port out of range). */
  ERR_POLICY_TARGET: { message: 'render option cannot be written safely', exit: 2 },
  /** A deployed artifact that cannot be compared: not rendered by netward-policy, or not JSON. */
  ERR_POLICY_MISMATCH: { message: 'deployed file cannot be compared with the policy', exit: 1 },
  /** A rendered grammar file (the validator's command grammars) does not match its format. */
  ERR_POLICY_GRAMMAR_INVALID: { message: 'invalid grammar file', exit: 2 },
});
export type PolicyErrorCode = keyof typeof POLICY_ERRORS;

/** What kind of problem one issue of an invalid file is; stable like the error codes. */
export type PolicyIssueCode =
  | 'syntax' // not YAML / not JSON
  | 'schema' // wrong type, missing or unknown key
  | 'regex-unsupported' // construct outside the shared subset (lookaround, backreference, flag, ...)
  | 'regex-unsafe' // nested or too many quantifiers: super-linear matching
  | 'duplicate' // two roles, IdP roles, tools or TACACS+ names the same
  | 'inconsistent' // values that contradict each other (ttl above max ttl, ...)
  | 'grammar'; // a grammar entry outside the grammar language, or a set name that does not exist

export interface PolicyIssue {
  readonly code: PolicyIssueCode;
  /** Dotted path inside the file, e.g. `roles[0].rules[2].match`; empty for the whole document. */
  readonly path: string;
  /** 1-based line and column of the offending node when the parser could locate it. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export class PolicyError extends NetwardError<PolicyErrorCode> {
  static override readonly catalogue = POLICY_ERRORS;
  override readonly name = 'PolicyError';
  /** The file the error is about, when there is one. */
  readonly file: string | undefined;
  readonly issues: readonly PolicyIssue[];

  constructor(
    code: PolicyErrorCode,
    message: string,
    options?: { file?: string; issues?: readonly PolicyIssue[]; cause?: unknown },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.file = options?.file;
    this.issues = Object.freeze([...(options?.issues ?? [])]);
  }
}

/** One line per issue: `file:line:col: path: message`. */
export function formatIssues(file: string, issues: readonly PolicyIssue[]): string {
  return issues
    .map((i) => {
      const where = i.line === undefined ? file : `${file}:${i.line}:${i.column ?? 1}`;
      return `${where}: ${i.path === '' ? '(document)' : i.path}: ${i.message}`;
    })
    .join('\n');
}
