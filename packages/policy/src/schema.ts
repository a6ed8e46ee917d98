// The policy file format, as a zod schema. Every object is strict: an unknown key is an error, because a
// misspelt key in a security policy (`rule:` for `rules:`) must not silently mean "no rules".
import { z } from 'zod';
import { COMMAND_CLASSES, GRAMMAR_SET_NAME } from './grammar/file.ts';
import { ACCOUNT_NAME, ATTRIBUTE_VALUE, SCOPE, TACACS_NAME, TOOL_NAME } from './names.ts';

/**
 * OpenSSH certificate extensions (PROTOCOL.certkeys). Anything else is refused: sshd ignores unknown
 * extensions, so a typo would silently grant nothing or, worse, be believed to restrict something.
 */
export const CERTIFICATE_EXTENSIONS = [
  'no-touch-required',
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;

/** Upper bound of a certificate's validity: the design is per-call certificates of 60 s. */
export const MAX_CERTIFICATE_TTL_SECONDS = 3600;

const regexString = z.string().min(1).max(256);

const rule = z.strictObject({
  action: z.enum(['permit', 'deny']),
  /** Regex source in the shared subset; omitted = the rule applies to every command. */
  match: regexString.optional(),
});

const attributeList = z.array(z.string().regex(ATTRIBUTE_VALUE, 'expected letters, digits, _ . : -')).min(1);

const role = z
  .strictObject({
    name: z.string().regex(ACCOUNT_NAME, 'expected an account name: [a-z_][a-z0-9_-]{0,31}'),
    idpRole: z.string().min(1).max(128).optional(),
    scopes: z.array(z.string().regex(SCOPE, 'expected a scope such as mcp:ctrl-plane:read')),
    certificate: z.strictObject({
      ttlSeconds: z.int().min(1).max(MAX_CERTIFICATE_TTL_SECONDS),
      maxTtlSeconds: z.int().min(1).max(MAX_CERTIFICATE_TTL_SECONDS),
      extensions: z.array(z.enum(CERTIFICATE_EXTENSIONS)),
    }),
    tacacs: z
      .strictObject({
        group: z.string().regex(TACACS_NAME, 'expected letters, digits, _ . -').optional(),
        profile: z.string().regex(TACACS_NAME, 'expected letters, digits, _ . -').optional(),
      })
      .optional(),
    /** Hand-written rules (the design's compatibility policy). Exactly one of rules and grammar. */
    rules: z.array(rule).optional(),
    /** Names of grammar sets; the role's rules are then rendered from them. */
    grammar: z.array(z.string().regex(GRAMMAR_SET_NAME, 'expected a grammar set name')).optional(),
    devices: z
      .strictObject({
        site: attributeList.optional(),
        tenant: attributeList.optional(),
        vendor: attributeList.optional(),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.rules === undefined && r.grammar === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rules'],
        input: undefined,
        message: 'missing, expected rules (hand-written patterns) or grammar (names of grammar sets)',
      });
    } else if (r.rules !== undefined && r.grammar !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['grammar'],
        input: r.grammar,
        message: 'expected rules or grammar, not both',
      });
    }
  });

const tool = z.strictObject({
  name: z.string().regex(TOOL_NAME, 'expected a tool name: [a-z][a-z0-9_]*'),
  scope: z.string().regex(SCOPE, 'expected a scope such as mcp:ctrl-plane:read'),
  description: z.string().min(1).max(1024),
  // Printable ASCII only, like the validator's allowlist: anything else never reaches a device.
  command: z
    .string()
    .regex(/^[\x20-\x7e]+$/, 'expected printable ASCII')
    .max(1024)
    .optional(),
  unsafe: z.boolean().optional(),
});

const grammarSet = z.strictObject({
  name: z.string().regex(GRAMMAR_SET_NAME, 'expected a grammar set name: [a-z][a-z0-9-]*'),
  /** The MCP scope a role must grant to be given this set: the device never allows more than MCP. */
  scope: z.string().regex(SCOPE, 'expected a scope such as mcp:ctrl-plane:read'),
  class: z.enum(COMMAND_CLASSES),
  commands: z.array(z.string().min(1).max(256)).min(1),
});

export const policyFileSchema = z.strictObject({
  version: z.literal(1),
  grammars: z.array(grammarSet).optional(),
  roles: z.array(role).min(1),
  tools: z.array(tool),
});

export type PolicyFile = z.infer<typeof policyFileSchema>;
