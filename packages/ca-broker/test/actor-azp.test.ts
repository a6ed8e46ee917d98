import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claims, MCP_CLIENT, signRequest, startBroker, type TestBroker } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';

// Keycloak's standard token exchange issues no `act`: the broker then reads the actor from `azp`, the
// client the exchanged token was issued to (the real Keycloak run is in test/lab/stack.test.ts).
let idp: TestIdp;
let broker: TestBroker;

beforeAll(async () => {
  idp = await startIdp();
  broker = startBroker(idp, {
    token: { actor: { claim: 'azp', allowed: [MCP_CLIENT], require: true } } as never,
  });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

describe('actor from azp (token.actor.claim = azp)', () => {
  it('accepts a token issued to the allowed client, and logs it as the actor', async () => {
    const before = broker.audit.lines.length;
    const res = await signRequest(
      broker.app,
      await idp.sign(claims(idp, { act: undefined, azp: MCP_CLIENT })),
    );
    expect(res.statusCode, res.body).toBe(200);
    const issued = broker.audit.lines.slice(before).find((l) => l['decision'] === 'issued');
    expect(issued).toMatchObject({ actor: MCP_CLIENT });
  });

  it.each([
    ['issued to another client (the agent itself)', { azp: 'netward-agent' }, 'ERR_CA_ACTOR_NOT_ALLOWED'],
    ['azp that is not a string', { azp: [MCP_CLIENT] }, 'ERR_CA_ACTOR_NOT_ALLOWED'],
    ['no azp', { azp: undefined }, 'ERR_CA_ACTOR_REQUIRED'],
    // `act` is not read in this mode: naming the MCP server there does not stand in for azp.
    [
      'act naming the MCP server but azp another client',
      { azp: 'rogue', act: { sub: MCP_CLIENT } },
      'ERR_CA_ACTOR_NOT_ALLOWED',
    ],
  ])('%s → 403 %s', async (_name, overrides, code) => {
    const res = await signRequest(broker.app, await idp.sign(claims(idp, { act: undefined, ...overrides })));
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
  });
});
