// The in-memory policy: what every enforcement point is rendered from. All of it is frozen once parsed.
import type { GrammarSet } from './grammar/file.ts';

/**
 * One command rule. `match` is the source of a regular expression in the subset accepted by
 * `checkPattern` (see regex.ts), tried unanchored against the command string; `null` matches every
 * command (the admin profile's unconditional `permit`).
 */
export interface Rule {
  readonly action: 'permit' | 'deny';
  readonly match: string | null;
}

/** Device attributes a role may be limited to; an absent list means "any value". */
export interface DeviceAttributes {
  readonly site?: readonly string[];
  readonly tenant?: readonly string[];
  readonly vendor?: readonly string[];
}

/** A device as seen by `deviceAllowed`: its inventory attributes, any of which may be unknown. */
export interface DeviceInfo {
  readonly site?: string;
  readonly tenant?: string;
  readonly vendor?: string;
}

export interface CertificateProfile {
  /** Validity requested for each certificate. */
  readonly ttlSeconds: number;
  /** Longest validity the CA may grant for this role. */
  readonly maxTtlSeconds: number;
  /** OpenSSH certificate extensions (permit-pty, ...). ForceCommand runs whatever they say. */
  readonly extensions: readonly string[];
}

/** Names this role has inside the tac_plus-ng configuration. */
export interface TacacsNames {
  readonly group: string;
  readonly profile: string;
}

export interface Role {
  /** Device account = certificate principal = TACACS+ user. */
  readonly name: string;
  /** Value of the IdP's role claim (`net_role`) that maps to this role. */
  readonly idpRole: string;
  readonly scopes: readonly string[];
  readonly certificate: CertificateProfile;
  /** Ordered; the first match decides; no match = deny. Rendered from `grammar` when the role has one. */
  readonly rules: readonly Rule[];
  /** Names of the grammar sets the role may run, in order; absent for a role with hand-written rules. */
  readonly grammar?: readonly string[];
  readonly tacacs: TacacsNames;
  readonly devices?: DeviceAttributes;
}

export interface Tool {
  readonly name: string;
  readonly scope: string;
  readonly description: string;
  /** The device command as it is authorized (after the validator's normalisation), for the drift check. */
  readonly command?: string;
  /** A tool that should not exist in production (e.g. a raw command passthrough). */
  readonly unsafe?: boolean;
}

export interface Policy {
  /** Grammar sets, by policy order (empty for a policy of hand-written rules only). */
  readonly grammars?: readonly GrammarSet[];
  readonly roles: readonly Role[];
  readonly tools: readonly Tool[];
  /** File name the policy was read from (for messages). */
  readonly source: string;
}

export interface Decision {
  readonly decision: 'permit' | 'deny';
  /** Index in the role's rules of the rule that decided; null = no rule matched (default deny) or unknown role. */
  readonly ruleIndex: number | null;
  readonly rule: Rule | null;
  readonly role: string;
}

export type DriftKind =
  /** The role may call the tool (scope granted) but its device rules deny the tool's command. */
  | 'granted-tool-denied-command'
  /** The role may not call the tool but its device rules permit the tool's command. */
  | 'denied-tool-permitted-command'
  /** A tool marked unsafe is reachable by the role. */
  | 'unsafe-tool-granted'
  /** A permit rule whose pattern is not anchored at the start: it permits other commands too. */
  | 'unanchored-permit';

/** A disagreement between a role's scopes and its device rules about one tool. */
export interface ToolDriftWarning {
  readonly kind: Exclude<DriftKind, 'unanchored-permit'>;
  readonly role: string;
  readonly tool: string;
  readonly scope: string;
  readonly command: string | null;
  /** Index of the rule that decided the command, null for default deny or no command. */
  readonly ruleIndex: number | null;
  readonly message: string;
}

/** A permit rule that can match after the start of the command string. */
export interface UnanchoredPermitWarning {
  readonly kind: 'unanchored-permit';
  readonly role: string;
  readonly tool: null;
  readonly scope: null;
  /** A command the rule permits whose program is not the one it was written for (checked with `decide`);
   *  null when none of the probe commands gets through. */
  readonly command: string | null;
  readonly ruleIndex: number;
  readonly pattern: string;
  readonly message: string;
}

export type DriftWarning = ToolDriftWarning | UnanchoredPermitWarning;
