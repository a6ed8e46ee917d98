// oidc-provider 9 ships no type declarations (and @types/oidc-provider describes an older major).
// Only what the lab IdP touches is declared here, loosely; the library validates its own configuration.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface OidcClient {
    readonly clientId: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface OidcSession {
    readonly uid: string;
    readonly accountId?: string;
  }

  export interface OidcContext {
    readonly oidc: {
      readonly client?: OidcClient;
      readonly params?: Record<string, unknown>;
      readonly session?: OidcSession;
      readonly result?: Record<string, unknown>;
      readonly entities: Record<string, unknown>;
      readonly route?: string;
      entity(name: string, value: unknown): void;
    };
    body: unknown;
    status: number;
    headers: Record<string, string | string[] | undefined>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string } };
  }

  export interface AccessTokenInstance {
    accountId?: string;
    clientId?: string;
    scope?: string;
    gty?: string;
    sessionUid?: string;
    expiration: number;
    resourceServer?: ResourceServerInfo;
    jti: string;
    save(): Promise<string>;
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: {
      readonly name: string;
      readonly reasons: string[];
      readonly details: {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
    };
    readonly params: Record<string, unknown>;
    readonly session?: { accountId?: string; uid?: string };
    readonly grantId?: string;
  }

  export interface GrantInstance {
    addOIDCScope(scope: string): void;
    rejectOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    rejectResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export const errors: {
    readonly InvalidGrant: new (description?: string) => Error;
    readonly InvalidRequest: new (description?: string) => Error;
    readonly InvalidTarget: new (description?: string) => Error;
    readonly InvalidScope: new (description?: string) => Error;
    readonly InvalidClientMetadata: new (description?: string) => Error;
  };

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    registerGrantType(
      name: string,
      handler: (ctx: OidcContext) => Promise<void>,
      params?: Iterable<string>,
      dupes?: Iterable<string>,
    ): void;
    on(event: string, listener: (...args: never[]) => void): this;
    readonly AccessToken: new (
      init: Record<string, unknown>,
    ) => AccessTokenInstance;
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): GrantInstance;
      find(id: string): Promise<GrantInstance | undefined>;
    };
    readonly Session: { findByUid(uid: string): Promise<OidcSession | undefined> };
  }
}
