/**
 * MCP clients that log in on their own, as a user's agent would: discovery from the MCP server's
 * protected resource metadata (RFC 9728), dynamic registration at the IdP (RFC 7591), authorization
 * code + PKCE with the `resource` parameter (RFC 8707), and the login typed into the IdP's own login
 * page by a real headless browser (Debian's chromium, driven by puppeteer-core over CDP).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import puppeteer, { type HTTPRequest, type Page } from 'puppeteer-core';

/** A lab user's password, from the lab's users file (the lab writes it, mode 0600). */
export function labPassword(usersFile: string, user: string): string {
  const users = JSON.parse(readFileSync(usersFile, 'utf8')) as Record<string, { password: string }>;
  const entry = users[user];
  if (entry === undefined) throw new Error(`no lab user ${user}`);
  return entry.password;
}

/** The claims of a JWT, unverified: for looking at what a client was given, not for trusting it. */
export function decodeJwt(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Installed by scripts/setup.sh (Debian's package). */
export const CHROMIUM = '/usr/bin/chromium';

/** `promise`, or an error naming `what` once `ms` have passed: every wait of a login has its own bound. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Resolves once `request` has its answer or has failed (a page that closes itself fails its load). */
function settled(page: Page, request: HTTPRequest): Promise<void> {
  if (request.response() !== null || request.failure() !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (r: HTTPRequest) => {
      if (r !== request) return;
      page.off('requestfinished', done);
      page.off('requestfailed', done);
      resolve();
    };
    page.on('requestfinished', done);
    page.on('requestfailed', done);
  });
}

/**
 * Opens `url` in headless chromium, signs in on the IdP's login page, allows the consent page, and
 * returns once the browser's request to a URL starting with `until` (the client's redirect URI) has
 * been answered.
 */
export async function loginInBrowser(
  url: string,
  username: string,
  password: string,
  until: string,
): Promise<{ landedOn: string; pages: string[] }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh`);
  const profile = mkdtempSync(join(tmpdir(), 'netward-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // Root has no user namespace sandbox for chromium; the browser only ever visits the lab's own
    // loopback pages. No GPU on the machine.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
  const pages: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) pages.push(f.url());
    });
    // Watched as a request, not a page load: a client's callback page may close its own window
    // (mcp-remote's does), and then no navigation ever completes.
    const redirected = page.waitForRequest((r) => r.url().startsWith(until), { timeout: 60_000 });
    redirected.catch(() => undefined);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 20_000 });
    await page.waitForSelector('h1[data-prompt="login"]', { timeout: 20_000 });
    await page.type('input[name="username"]', username);
    await page.type('input[name="password"]', password);
    await page.click('button[type="submit"]');
    const consent = page
      .waitForSelector('h1[data-prompt="consent"]', { timeout: 30_000 })
      .then(() => 'consent' as const);
    consent.catch(() => undefined);
    const next = await Promise.race([redirected, consent]);
    if (next === 'consent') await page.click('button[type="submit"]');
    const request = await redirected;
    // Closing the browser the moment the redirect starts can drop it before it reaches the client's
    // callback server, and the client then waits for a code that never comes: wait for its answer.
    await within(settled(page, request), 20_000, `the redirect to ${until}`);
    return { landedOn: request.url(), pages };
  } finally {
    await within(browser.close(), 10_000, 'closing chromium').catch(() => browser.process()?.kill('SIGKILL'));
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A loopback redirect URI (RFC 8252 section 7.3) that hands over the authorization code. */
export async function startCallback(): Promise<{ url: string; code: Promise<string>; close(): void }> {
  let resolveCode: (code: string) => void = () => undefined;
  let rejectCode: (err: Error) => void = () => undefined;
  const code = new Promise<string>((res, rej) => {
    resolveCode = res;
    rejectCode = rej;
  });
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const c = u.searchParams.get('code');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in; you may close this window\n');
    if (c) resolveCode(c);
    else rejectCode(new Error(`authorization failed: ${u.searchParams.get('error') ?? 'no code'}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/callback`, code, close: () => server.close() };
}

/** The SDK's OAuthClientProvider, kept in memory: what an agent would persist, and what it did. */
export class MemoryOAuthProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;

  constructor(readonly redirect: string) {}

  get redirectUrl(): string {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'netward e2e (MCP SDK)',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/**
 * The official SDK client, from nothing: the first connect is refused (401), which makes the SDK
 * discover, register and build the authorization URL; the browser signs in; the SDK exchanges the
 * code; the second connect carries the token.
 */
export async function sdkClientLogin(
  mcpUrl: string,
  username: string,
  password: string,
): Promise<{ client: Client; provider: MemoryOAuthProvider; pages: string[] }> {
  const callback = await startCallback();
  try {
    const provider = new MemoryOAuthProvider(callback.url);
    const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    const unauthenticated = new Client({ name: 'netward-e2e-sdk', version: '1.0.0' });
    const refused = await within(
      unauthenticated.connect(first),
      30_000,
      'the first connect (discovery and registration)',
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(refused instanceof UnauthorizedError) || !provider.authorizationUrl) {
      throw new Error(`expected the SDK to start an authorization, got ${String(refused)}`);
    }
    const { pages } = await loginInBrowser(
      provider.authorizationUrl.toString(),
      username,
      password,
      callback.url,
    );
    await first.finishAuth(await within(callback.code, 20_000, 'the authorization code at the callback'));
    const client = new Client({ name: 'netward-e2e-sdk', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
    return { client, provider, pages };
  } finally {
    callback.close();
  }
}

/** `mcp-remote` as agents run it (a stdio MCP server proxying to the remote one), logged in by the browser. */
export interface McpRemote {
  request(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  readonly stderr: () => string;
  close(): Promise<void>;
}

const MCP_REMOTE = join(import.meta.dirname, '..', 'node_modules', 'mcp-remote', 'dist', 'proxy.js');

export async function mcpRemoteLogin(
  mcpUrl: string,
  username: string,
  password: string,
  callbackPort: number,
): Promise<McpRemote> {
  const home = mkdtempSync(join(tmpdir(), 'netward-mcp-remote-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [MCP_REMOTE, mcpUrl, String(callbackPort), '--allow-http', '--host', '127.0.0.1'],
    {
      // Its registration and tokens go to a directory of this run, never the user's ~/.mcp-auth; no
      // browser is opened by it (no display), the test's chromium signs in instead.
      env: { PATH: process.env['PATH'], HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, 'auth') },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  let stdout = '';
  const waiting = new Map<number, (msg: Record<string, unknown>) => void>();
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => {
    stdout += d;
    let nl = stdout.indexOf('\n');
    while (nl >= 0) {
      const line = stdout.slice(0, nl).trim();
      stdout = stdout.slice(nl + 1);
      nl = stdout.indexOf('\n');
      if (line === '') continue;
      const msg = JSON.parse(line) as Record<string, unknown>;
      const id = msg['id'];
      if (typeof id === 'number') waiting.get(id)?.(msg);
    }
  });
  let nextId = 1;
  const request = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(
        () => reject(new Error(`mcp-remote: no answer to ${method}\n${stderr}`)),
        60_000,
      );
      waiting.set(id, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  const close = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(home, { recursive: true, force: true });
  };

  try {
    let url: string | undefined;
    for (let i = 0; i < 300 && url === undefined; i++) {
      url = /Please authorize this client by visiting:\s*(\S+)/.exec(stderr)?.[1];
      if (url === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    if (url === undefined) throw new Error(`mcp-remote never asked for a login:\n${stderr}`);
    await loginInBrowser(url, username, password, `http://127.0.0.1:${callbackPort}/oauth/callback`);
    return { request, stderr: () => stderr, close };
  } catch (err) {
    await close();
    throw err;
  }
}
