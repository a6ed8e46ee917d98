// Name syntaxes, shared by the policy file schema and the local rules file. No imports: the validator's
// lean path (@netward/policy/local-rules) uses ACCOUNT_NAME without loading the policy schema (full zod).

/** POSIX portable user name, also a valid OpenSSH principal and tac_plus-ng user name. */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** OAuth scope token (RFC 6749 section 3.3 allows more; we keep to a readable subset). */
export const SCOPE = /^[a-z0-9][a-z0-9._-]*(:[a-z0-9][a-z0-9._-]*)*$/;
/** tac_plus-ng identifiers we generate (group, profile names): no characters its lexer treats specially. */
export const TACACS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** Device attribute values (site, tenant, vendor). */
export const ATTRIBUTE_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;
