/// <reference path="./oidc-provider.d.ts" />
import type { Logger } from '@netward/audit-context';
import { BearerError, type BearerIdentity, createBearerVerifier } from '@netward/bearer';
import type { JWTVerifyGetKey } from 'jose';
import type Provider from 'oidc-provider';
import type { OidcContext, errors as OidcErrors, ResourceServerInfo } from 'oidc-provider';
import type { IdpConfig, LabUsers } from './config.ts';
import {
  GRANT_TYPE_TOKEN_EXCHANGE,
  IDP_SIGNING_ALG,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
} from './config.ts';

/** RFC 8693 section 2.1: the request parameters of the grant. */
const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
  'actor_token',
  'actor_token_type',
];

export interface TokenExchangeDeps {
  readonly config: IdpConfig;
  readonly users: LabUsers;
  readonly publicJwks: JWTVerifyGetKey;
  readonly actors: WeakMap<object, Record<string, unknown>>;
  readonly resourceServer: ResourceServerInfo;
  readonly logger: Logger;
}

/**
 * OAuth 2.0 Token Exchange (RFC 8693) as the MCP server needs it, and nothing more:
 * - only the MCP server's confidential client may use it (its `grant_types` is set at registration);
 * - the subject token must be an access token this IdP issued for the MCP server's audience
 *   (section 2.1: the exchanging party presents a token it received; a token minted for anyone else is
 *   refused, so the MCP server cannot launder tokens that were not meant for it);
 * - the user's login session must still exist: ending the session stops new certificates;
 * - the only target is the CA broker (`audience` or `resource`, section 2.1); scopes may only narrow;
 * - the issued token names the MCP server as the acting party: `act: { sub: <client id> }` (4.1),
 *   nesting any `act` the subject token already had.
 */
export function registerTokenExchange(
  provider: Provider,
  errors: typeof OidcErrors,
  deps: TokenExchangeDeps,
): void {
  const { config, publicJwks, logger } = deps;
  // Section 2.1: the subject token must be an access token this IdP issued to an agent for the MCP
  // server, naming its user (`sub`, the account id) and login session (`sid`).
  const verifySubject = createBearerVerifier({
    issuer: config.issuer,
    audience: config.mcp.resource,
    algorithms: [IDP_SIGNING_ALG],
    clockToleranceSeconds: 0,
    keys: publicJwks,
    requiredClaims: ['sub', 'iat', 'client_id'],
    userClaims: ['sub'],
  }).verify;

  // RFC 8693's checks in the order section 2.1 lists them, then the token it issues (section 2.2).
  const handler = async (ctx: OidcContext): Promise<void> => {
    const params = (ctx.oidc.params ?? {}) as Params;
    const client = ctx.oidc.client;
    if (client === undefined) throw new errors.InvalidRequest('client authentication is required');
    const refuse = refusalFor(ctx, logger);
    const subjectToken = checkParameters(params, config, errors, refuse);
    let subject: BearerIdentity;
    try {
      subject = await verifySubject(subjectToken);
    } catch (cause) {
      return refuse(new errors.InvalidGrant('subject_token is invalid, expired or not for this client'), {
        reason: cause instanceof BearerError ? cause.code : 'unexpected',
        ...(cause instanceof BearerError && cause.detail ? cause.detail : {}),
      });
    }
    await checkSubject(subject, client.clientId, provider, deps.users, errors, refuse);
    const scopes = narrowScopes(subject, params['scope'], errors, refuse);
    ctx.body = await issueBrokerToken(ctx, provider, subject, scopes, deps);
  };

  provider.registerGrantType(GRANT_TYPE_TOKEN_EXCHANGE, handler, PARAMETERS, ['resource', 'audience']);
}

type Params = Record<string, string | string[] | undefined>;
/** Logs the refusal (never the tokens) and throws the OAuth error the client gets. */
type Refuse = (err: Error, detail?: Record<string, unknown>) => never;

function refusalFor(ctx: OidcContext, logger: Logger): Refuse {
  return (err, detail = {}) => {
    logger.warn(
      {
        event: 'token_exchange',
        decision: 'refused',
        client_id: ctx.oidc.client?.clientId,
        error: (err as { error?: string }).error,
        ...detail,
      },
      'token exchange refused',
    );
    throw err;
  };
}

/**
 * Section 2.1's parameters: a subject token that is an access token, no other requested type, no
 * separate actor token (the acting party is the authenticated client itself), and the CA broker as the
 * only target (`audience` or `resource`). Returns the subject token.
 */
function checkParameters(
  params: Params,
  config: IdpConfig,
  errors: typeof OidcErrors,
  refuse: Refuse,
): string {
  const subjectToken = params['subject_token'];
  const subjectType = params['subject_token_type'];
  if (typeof subjectToken !== 'string' || subjectToken.length === 0) {
    return refuse(new errors.InvalidRequest('missing required parameter subject_token'));
  }
  if (subjectType !== TOKEN_TYPE_ACCESS_TOKEN && subjectType !== TOKEN_TYPE_JWT) {
    refuse(new errors.InvalidRequest('unsupported subject_token_type'));
  }
  const requested = params['requested_token_type'];
  if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
    refuse(new errors.InvalidRequest('unsupported requested_token_type'));
  }
  if (params['actor_token'] !== undefined) refuse(new errors.InvalidRequest('actor_token is not supported'));
  const targets = [params['audience'], params['resource']]
    .flat()
    .filter((v): v is string => typeof v === 'string');
  if (targets.some((t) => t !== config.broker.audience)) {
    refuse(new errors.InvalidTarget('the only audience available is the CA broker'), { audience: targets });
  }
  return subjectToken;
}

/**
 * The verified subject token's user is known, it was issued to an agent (every client but the MCP
 * server's own: `mcp-agent`, registered (RFC 7591) and metadata-document clients; the MCP-audience check
 * already rules out the exchange client), and its login session still exists: ending the session stops
 * new certificates.
 */
async function checkSubject(
  subject: BearerIdentity,
  exchangeClientId: string,
  provider: Provider,
  users: LabUsers,
  errors: typeof OidcErrors,
  refuse: Refuse,
): Promise<void> {
  const { user: sub, sid } = subject;
  if (!Object.hasOwn(users, sub)) refuse(new errors.InvalidGrant('subject unknown'), { user: sub });
  if (subject.clientId === undefined || subject.clientId === exchangeClientId) {
    refuse(new errors.InvalidGrant('subject_token was not issued to an agent'), { user: sub });
  }
  const session = await provider.Session.findByUid(sid);
  if (session === undefined || session.accountId !== sub) {
    refuse(new errors.InvalidGrant('the login session has ended'), { user: sub, sid });
  }
}

/** Section 2.1 `scope`: the scopes asked for, which may only narrow the subject token's; default all. */
function narrowScopes(
  subject: BearerIdentity,
  askedScope: Params[string],
  errors: typeof OidcErrors,
  refuse: Refuse,
): string[] {
  const subjectScopes = new Set(subject.scopes);
  if (typeof askedScope !== 'string' || askedScope.length === 0) return [...subjectScopes];
  const asked = askedScope.split(' ').filter(Boolean);
  if (asked.some((s) => !subjectScopes.has(s))) {
    refuse(new errors.InvalidScope('scope may only narrow the subject token'), {
      user: subject.user,
      sid: subject.sid,
    });
  }
  return asked;
}

/**
 * Section 2.2: an access token for the CA broker in the user's login session, naming the MCP server as
 * the acting party (`act: { sub: <client id> }`, section 4.1), nesting any `act` the subject token had.
 * Returns the response body.
 */
async function issueBrokerToken(
  ctx: OidcContext,
  provider: Provider,
  subject: BearerIdentity,
  scopes: readonly string[],
  deps: TokenExchangeDeps,
): Promise<Record<string, unknown>> {
  const client = ctx.oidc.client!;
  const token = new provider.AccessToken({
    accountId: subject.user,
    client,
    gty: 'token-exchange',
    sessionUid: subject.sid,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  });
  token.resourceServer = new (
    provider as unknown as {
      ResourceServer: new (id: string, info: ResourceServerInfo) => ResourceServerInfo;
    }
  ).ResourceServer(deps.config.broker.audience, deps.resourceServer);
  const priorAct = subject.claims['act'];
  deps.actors.set(token, {
    sub: client.clientId,
    ...(priorAct !== null && typeof priorAct === 'object' ? { act: priorAct } : {}),
  });
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();
  return {
    access_token: value,
    issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    token_type: 'Bearer',
    expires_in: token.expiration,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  };
}
