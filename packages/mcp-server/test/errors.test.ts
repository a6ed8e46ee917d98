/** Every error code has a public message and is documented in the README (fastify's rule). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MCP_SERVER_ERRORS, McpServerError, type McpServerErrorCode } from '../src/errors.ts';

describe('error catalogue', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const codes = Object.keys(MCP_SERVER_ERRORS) as McpServerErrorCode[];

  it('has codes', () => {
    expect(codes.length).toBeGreaterThan(15);
  });

  for (const code of codes) {
    it(`${code} is documented and has a short public message`, () => {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` +\\|`));
      const message = MCP_SERVER_ERRORS[code].message;
      expect(message.length).toBeGreaterThan(5);
      expect(message.length).toBeLessThan(80);
    });
  }

  it('the README documents no code that does not exist', () => {
    const documented = [...readme.matchAll(/\| `(ERR_MCP_[A-Z_]+)` +\|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...codes].sort());
  });

  it('gives the HTTP status of each code the HTTP layer answers with (RFC 6750 section 3.1)', () => {
    const statuses = Object.fromEntries(
      (
        [
          'ERR_MCP_TOKEN_MISSING',
          'ERR_MCP_AUTH_REQUEST',
          'ERR_MCP_TOKEN_INVALID',
          'ERR_MCP_INSUFFICIENT_SCOPE',
          'ERR_MCP_AUTH_UNAVAILABLE',
          'ERR_MCP_LOGIN_ENDED',
        ] as const
      ).map((c) => [c, new McpServerError(c).status]),
    );
    expect(statuses).toEqual({
      ERR_MCP_TOKEN_MISSING: 401,
      ERR_MCP_AUTH_REQUEST: 400,
      ERR_MCP_TOKEN_INVALID: 401,
      ERR_MCP_INSUFFICIENT_SCOPE: 403,
      ERR_MCP_AUTH_UNAVAILABLE: 503,
      ERR_MCP_LOGIN_ENDED: 401,
    });
  });

  it('renders the public message with its fixed detail, never the raised message or the cause', () => {
    const err = new McpServerError('ERR_MCP_INVALID_ARGUMENT', 'device "x;rm" refused', {
      cause: new Error('secret'),
      publicDetail: 'device must be a device name',
    });
    expect(err.publicMessage).toBe('invalid tool argument: device must be a device name');
    expect(JSON.stringify(err)).not.toMatch(/rm|secret/);
  });
});
