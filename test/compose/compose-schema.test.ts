// compose.yaml against the Compose Specification's JSON schema, checked here with an independent
// validator (Ajv) rather than only through docker-compose. The schema is the one Debian's
// docker-compose package ships; Ajv is the one the MCP SDK already depends on.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompose, REPO_ROOT } from './compose-files.ts';

const SCHEMA_FILE = '/usr/lib/python3/dist-packages/compose/config/compose_spec.json';

interface Validator {
  (data: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string }> | null;
}
interface AjvInstance {
  addFormat(name: string, format: RegExp | ((value: string) => boolean)): void;
  compile(schema: unknown): Validator;
}

function loadAjv(): new (opts: object) => AjvInstance {
  const sdk = realpathSync(join(REPO_ROOT, 'test/node_modules/@modelcontextprotocol/sdk/package.json'));
  const mod = createRequire(sdk)('ajv/dist/2019') as { default: new (opts: object) => AjvInstance };
  return mod.default;
}

/** The schema as Ajv 8 takes it: draft-04 style `id` labels removed (Ajv wants `$id` or nothing). */
function loadSchema(): unknown {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  const maps = new Set(['properties', 'patternProperties', 'definitions']);
  const strip = (node: unknown, inMap: boolean): void => {
    if (Array.isArray(node)) {
      for (const n of node) strip(n, false);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (!inMap && k === 'id' && typeof v === 'string') delete obj[k];
      else strip(v, !inMap && maps.has(k));
    }
  };
  strip(schema, false);
  return schema;
}

function compileValidator(): Validator {
  const Ajv = loadAjv();
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  // The compose-specific formats, as docker-compose defines them: Go durations ("5s", "1m30s"),
  // port and expose specs, and CIDR subnets.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^[\d.:[\]a-f-]+(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\d.:a-f]+\/\d{1,3}$/);
  return ajv.compile(loadSchema());
}

describe('compose.yaml against the Compose Specification JSON schema', () => {
  it('the schema shipped with docker-compose is available', () => {
    expect(existsSync(SCHEMA_FILE), `${SCHEMA_FILE} missing: install docker-compose (scripts/setup.sh)`).toBe(
      true,
    );
  });

  it('compose.yaml (YAML merge keys resolved) is valid', () => {
    const validate = compileValidator();
    const ok = validate(loadCompose());
    expect(validate.errors?.map((e) => `${e.instancePath} ${e.message}`) ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the validator catches what the schema forbids', () => {
    const validate = compileValidator();
    const broken = structuredClone(loadCompose()) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    const mcp = broken.services['mcp-server'];
    const loki = broken.services['loki'];
    if (mcp === undefined || loki === undefined) throw new Error('services missing from compose.yaml');
    mcp['read_only'] = 'yes';
    loki['restart_policy'] = 'always';
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath).sort()).toEqual([
      '/services/loki',
      '/services/mcp-server/read_only',
    ]);
  });
});
