// The IdP's audit lines: each login (with the session id every token of it carries), each token issued
// or refused, internal errors.
import type { Logger } from '@netward/audit-context';
import type Provider from 'oidc-provider';
import type { AccessTokenInstance, OidcContext } from 'oidc-provider';
import type { LabUsers } from './config.ts';

/**
 * LOGIN: the first authorization resumed after a successful login interaction. The session's uid is
 * the `sid` every token of this login carries (oidc-provider's per-client `sid` would differ per
 * client, which is useless for correlating the agent's token with the exchanged one).
 */
export function logLogins(provider: Provider, users: LabUsers, logger: Logger): void {
  (
    provider as unknown as { use(fn: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>): void }
  ).use(async (ctx, next) => {
    await next();
    const oidc = ctx.oidc as OidcContext['oidc'] | undefined;
    const login = oidc?.result?.['login'] as { accountId?: string } | undefined;
    if (oidc?.route === 'resume' && login?.accountId !== undefined && oidc.session !== undefined) {
      const role = users[login.accountId]?.role;
      logger.info(
        {
          event: 'login',
          user: login.accountId,
          sid: oidc.session.uid,
          ...(role ? { role } : {}),
          decision: 'ok',
        },
        `LOGIN userId=${login.accountId} sessionId=${oidc.session.uid}`,
      );
    }
  });
}

/** One line per token issued (with the actor of an exchanged one) or refused, and per internal error. */
export function logGrants(
  provider: Provider,
  users: LabUsers,
  actors: WeakMap<object, Record<string, unknown>>,
  logger: Logger,
): void {
  provider.on('grant.success', (ctx: OidcContext) => {
    const at = ctx.oidc.entities['AccessToken'] as AccessTokenInstance | undefined;
    if (at === undefined) return;
    const user = at.accountId;
    const role = user === undefined ? undefined : users[user]?.role;
    const act = actors.get(at);
    logger.info(
      {
        event: 'token_issued',
        ...(user !== undefined ? { user } : {}),
        ...(at.sessionUid !== undefined ? { sid: at.sessionUid } : {}),
        ...(role !== undefined ? { role } : {}),
        decision: 'issued',
        grant_type: at.gty,
        client_id: ctx.oidc.client?.clientId,
        audience: at.resourceServer?.audience,
        scope: at.scope,
        jti: at.jti,
        ...(act !== undefined ? { actor: act['sub'] } : {}),
      },
      'access token issued',
    );
  });
  provider.on(
    'grant.error',
    (ctx: OidcContext, err: Error & { error?: string; error_description?: string }) => {
      logger.warn(
        {
          event: 'token_refused',
          decision: 'refused',
          grant_type: ctx.oidc.params?.['grant_type'],
          client_id: ctx.oidc.client?.clientId,
          error: err.error,
          detail: err.error_description,
        },
        'token request refused',
      );
    },
  );
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    logger.error({ event: 'server_error', err }, 'IdP internal error');
  });
}
