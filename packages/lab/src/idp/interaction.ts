// The IdP's own pages: login and consent, as plain HTML forms.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@netward/audit-context';
import type Provider from 'oidc-provider';
import { LabError } from '../errors.ts';
import type { IdpConfig, LabUsers } from './config.ts';

/** The IdP's HTTP handler: interaction pages first, everything else to oidc-provider. */
export function idpHandler(
  provider: Provider,
  users: LabUsers,
  config: IdpConfig,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const oidcHandler = provider.callback();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/interaction/')) {
      handleInteraction(provider, users, config, logger, req, res).catch((err: unknown) => {
        logger.warn({ event: 'interaction_error', err }, 'interaction failed');
        if (!res.headersSent) {
          res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('interaction failed\n');
        } else res.end();
      });
      return;
    }
    oidcHandler(req, res);
  };
  return handler;
}

/** Compares a submitted password with the stored one without leaking where they differ. */
function passwordMatches(stored: string, submitted: string): boolean {
  const a = createHash('sha256').update(stored).digest();
  const b = createHash('sha256').update(submitted).digest();
  return timingSafeEqual(a, b);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new LabError('ERR_LAB_LOGIN', 'form body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An interaction page. `form-action` also governs where the form's redirects may lead (CSP 3,
 * "form-action"; Chromium enforces it on every hop): after the last form the IdP redirects the browser
 * to the client's redirect URI, so that origin is allowed too. Measured with headless chromium: with
 * `form-action 'self'` alone, the redirect to a loopback client was blocked and the login never
 * reached the client.
 */
function page(res: ServerResponse, title: string, body: string, redirectUri?: unknown): void {
  let target = '';
  try {
    if (typeof redirectUri === 'string') target = ` ${new URL(redirectUri).origin}`;
  } catch {
    target = '';
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; form-action 'self'${target}`,
  });
  res.end(
    `<!doctype html><html><head><title>${escapeHtml(title)}</title></head><body>${body}</body></html>\n`,
  );
}

/**
 * The login and consent pages: plain HTML forms, so that a browser and the lab's login driver
 * (src/idp/login.ts) go through exactly the same requests.
 *   GET  /interaction/<uid>          the form of the current prompt (login or consent)
 *   POST /interaction/<uid>/login    username + password
 *   POST /interaction/<uid>/confirm  consent: grants the requested scopes the user's role allows
 */
async function handleInteraction(
  provider: Provider,
  users: LabUsers,
  config: IdpConfig,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt } = details;
  const path = (req.url ?? '').split('?')[0] ?? '';
  const action = path.slice(`/interaction/${uid}`.length);
  if (req.method === 'GET' && action === '') return showPrompt(res, details);
  if (req.method === 'POST' && action === '/login' && prompt.name === 'login') {
    return finishLogin(provider, users, logger, req, res);
  }
  if (req.method === 'POST' && action === '/confirm' && prompt.name === 'consent') {
    return finishConsent(provider, users, config, details, req, res);
  }
  res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('unexpected interaction request\n');
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The form of the current prompt: login, or consent to the requested scopes. */
function showPrompt(res: ServerResponse, { uid, prompt, params }: Details): void {
  if (prompt.name === 'login') {
    page(
      res,
      'Sign in',
      `<h1 data-prompt="login">Sign in to the netward lab</h1>` +
        `<form method="post" action="/interaction/${escapeHtml(uid)}/login">` +
        `<input name="username" autocomplete="username"> <input name="password" type="password">` +
        `<button type="submit">Sign in</button></form>`,
      params['redirect_uri'],
    );
    return;
  }
  const scopes = String(params['scope'] ?? '');
  page(
    res,
    'Authorize',
    `<h1 data-prompt="consent">Allow ${escapeHtml(String(params['client_id']))}</h1><p>${escapeHtml(scopes)}</p>` +
      `<form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><button type="submit">Allow</button></form>`,
    params['redirect_uri'],
  );
}

/** The submitted user name and password: a login, or `access_denied` to the client. */
async function finishLogin(
  provider: Provider,
  users: LabUsers,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const form = await readForm(req);
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const user = Object.hasOwn(users, username) ? users[username] : undefined;
  if (user === undefined || !passwordMatches(user.password, password)) {
    // The operator sees which name was tried when it is one of ours; the browser sees nothing more.
    logger.warn(
      { event: 'login', decision: 'refused', ...(user !== undefined ? { user: username } : {}) },
      'LOGIN refused: bad credentials',
    );
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'invalid credentials' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: username } },
    { mergeWithLastSubmission: false },
  );
}

/** Consent: grants the requested scopes the user's role allows and records the rest as refused. */
async function finishConsent(
  provider: Provider,
  users: LabUsers,
  config: IdpConfig,
  details: Details,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { prompt, params } = details;
  await readForm(req);
  const accountId = details.session?.accountId;
  const user = accountId === undefined ? undefined : users[accountId];
  if (accountId === undefined || user === undefined) {
    throw new LabError('ERR_LAB_LOGIN', 'consent without a logged-in account');
  }
  const allowed = new Set(config.roles[user.role] ?? []);
  const clientId = String(params['client_id']);
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope && missingOIDCScope.length > 0) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims && missingOIDCClaims.length > 0) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
    const granted = scopes.filter((s) => allowed.has(s));
    const rejected = scopes.filter((s) => !allowed.has(s));
    // Rejected scopes are recorded as decided, so the consent prompt does not come back for them;
    // the token then carries only what the role allows (least privilege at the source).
    if (granted.length > 0) grant.addResourceScope(indicator, granted.join(' '));
    if (rejected.length > 0) grant.rejectResourceScope(indicator, rejected.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: false });
}
