// The Helm chart in deploy/helm/netward, checked offline: `helm lint`, `helm template` with the default
// and the production-like values, every rendered object validated strictly (unknown fields fail)
// against the Kubernetes API schemas of the oldest release the chart supports and of the newest one
// kubernetes-validate knows, the chart's own promises (probes on the real health endpoints, disruption
// budgets, autoscalers, network policies, hardening, no secret in a ConfigMap), and each rendered
// service configuration loaded through that service's own loader. helm (built from its Go module) and
// kubernetes-validate (PyPI) are installed by deploy/helm/tools.sh, which scripts/test.sh runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig as loadBrokerConfig } from '@netward/ca-broker';
import { parseConfig as parseMcpConfig } from '@netward/mcp-server';
import { defaultPolicy, parsePolicy, renderTacPlusNg, TACACS_KEY_ENV } from '@netward/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const CHART = join(ROOT, 'deploy/helm/netward');
const HELM = join(ROOT, '.cache/chart-tools/bin/helm');
const VALIDATE = join(ROOT, '.cache/chart-tools/venv/bin/kubernetes-validate');
// The chart's kubeVersion floor, and the newest release whose schemas kubernetes-validate 1.37 ships.
const KUBE_VERSIONS = ['1.27.0', '1.37.0'];
const PRODUCTION = join(CHART, 'values-production.yaml');
const DEFAULT_POLICY = join(ROOT, 'packages/policy/policy/default.yaml');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked field by field below.
  spec?: any;
  data?: Record<string, string>;
}

let work: string;
beforeAll(() => {
  for (const tool of [HELM, VALIDATE]) {
    // Not a skip: a missing validator must fail the run, not pass it.
    if (!existsSync(tool)) throw new Error(`${tool} is missing: run bash deploy/helm/tools.sh`);
  }
  work = mkdtempSync(join(tmpdir(), 'netward-chart-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(HELM, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: work } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `helm template` with these extra arguments; returns the manifest text and its objects. */
function render(extra: string[] = []): { text: string; objects: K8sObject[] } {
  const run = helm(['template', 'netward', CHART, '--namespace', 'netops', ...extra]);
  if (run.status !== 0) throw new Error(`helm template failed:\n${run.stderr}`);
  const objects = parseAllDocuments(run.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { text: run.stdout, objects };
}

/** kubernetes-validate --strict on a manifest, for one Kubernetes release. */
function validate(text: string, version: string): { status: number | null; output: string } {
  const file = join(work, `manifest-${version}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  const run = spawnSync(VALIDATE, ['--strict', '--quiet', '-k', version, file], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const find = (objects: K8sObject[], kind: string, component: string) =>
  objects.find((o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === component);
const must = (objects: K8sObject[], kind: string, component: string): K8sObject => {
  const o = find(objects, kind, component);
  if (!o) throw new Error(`no ${kind} for ${component}`);
  return o;
};

const renders = {
  default: () => render(),
  production: () => render(['-f', PRODUCTION]),
};

describe('helm lint and schema validation', () => {
  it.each([
    ['default', []],
    ['production', ['-f', PRODUCTION]],
  ])('helm lint --strict passes with the %s values', (_name, extra) => {
    const run = helm(['lint', '--strict', CHART, ...extra]);
    expect(run.stderr + run.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(run.status).toBe(0);
  });

  for (const [name, make] of Object.entries(renders)) {
    it.each(KUBE_VERSIONS)(
      `every object of the ${name} render is valid Kubernetes %s (strict)`,
      (version) => {
        const { text, objects } = make();
        expect(objects.length).toBeGreaterThan(5);
        const run = validate(text, version);
        expect(run.output).not.toMatch(/ERROR|did not validate/);
        expect(run.status).toBe(0);
      },
    );
  }

  it('the validation is strict: an unknown field in a container fails it', () => {
    const { text } = render(['--set', 'mcpServer.resources.bogusField=1']);
    const run = validate(text, KUBE_VERSIONS[1]!);
    expect(run.output).toContain("'bogusField' was unexpected");
    expect(run.status).not.toBe(0);
  });
});

describe('what the chart promises', () => {
  for (const [name, make] of Object.entries(renders)) {
    it(`${name}: each Deployment is hardened, sized and probed on its real health endpoint`, () => {
      const { objects } = make();
      const deployments = objects.filter((o) => o.kind === 'Deployment');
      expect(deployments.length).toBeGreaterThanOrEqual(2);
      for (const d of deployments) {
        const pod = d.spec.template.spec;
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(pod.automountServiceAccountToken).toBe(false);
        for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
          expect(c.securityContext).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(c.resources.requests).toHaveProperty('cpu');
          expect(c.resources.limits).toHaveProperty('memory');
        }
        const [main] = pod.containers;
        expect(main.readinessProbe).toBeDefined();
        expect(main.livenessProbe).toBeDefined();
      }
      const probes = (component: string) =>
        must(objects, 'Deployment', component).spec.template.spec.containers[0];
      expect(probes('ca-broker').readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
      expect(probes('ca-broker').livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
      // RFC 9728 metadata, with the Host the server's DNS-rebinding check accepts.
      const mcp = probes('mcp-server').readinessProbe.httpGet;
      expect(mcp.path).toBe('/.well-known/oauth-protected-resource');
      const publicUrl = new URL(mcpConfigOf(objects)['publicUrl'] as string);
      expect(mcp.httpHeaders).toEqual([{ name: 'Host', value: publicUrl.host }]);
    });

    it(`${name}: a PodDisruptionBudget and a NetworkPolicy for each component, an autoscaler for the MCP server`, () => {
      const { objects } = make();
      const components = objects
        .filter((o) => o.kind === 'Deployment')
        .map((d) => d.metadata.labels!['app.kubernetes.io/component']!);
      for (const c of components) {
        expect(must(objects, 'PodDisruptionBudget', c).spec.maxUnavailable).toBe(1);
        const np = must(objects, 'NetworkPolicy', c);
        expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      }
      const hpa = must(objects, 'HorizontalPodAutoscaler', 'mcp-server');
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'netward-mcp-server' });
      // The autoscaler owns the replica count: a fixed one would fight it on every upgrade.
      expect(must(objects, 'Deployment', 'mcp-server').spec.replicas).toBeUndefined();
    });

    it(`${name}: the broker takes connections from the MCP server only; the MCP server reaches the broker and the devices`, () => {
      const { objects } = make();
      const broker = must(objects, 'NetworkPolicy', 'ca-broker').spec;
      expect(broker.ingress).toEqual([
        {
          from: [
            {
              podSelector: {
                matchLabels: expect.objectContaining({ 'app.kubernetes.io/component': 'mcp-server' }),
              },
            },
          ],
          ports: [{ port: 'http', protocol: 'TCP' }],
        },
      ]);
      const mcp = must(objects, 'NetworkPolicy', 'mcp-server').spec;
      const egressPorts = mcp.egress.flatMap((r: { ports: { port: number }[] }) =>
        r.ports.map((p) => p.port),
      );
      expect(egressPorts).toEqual(expect.arrayContaining([53, 8443, 22]));
      const selected = mcp.egress.map(
        (r: { to: { podSelector?: { matchLabels?: Record<string, string> } }[] }) =>
          r.to[0]?.podSelector?.matchLabels?.['app.kubernetes.io/component'],
      );
      expect(selected).toContain('ca-broker');
    });

    it(`${name}: no Secret is rendered, and no ConfigMap or env value carries one`, () => {
      const { objects } = make();
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
        const text = Object.values(cm.data ?? {}).join('\n');
        expect(text).not.toMatch(/PRIVATE KEY|hvs\.|s\.[A-Za-z0-9]{24}|clientSecret:|secret_id|role_id:/);
      }
      for (const d of objects.filter((o) => o.kind === 'Deployment')) {
        for (const c of d.spec.template.spec.containers) {
          // An environment variable, if any, names a Secret's key: never a value in the manifest.
          for (const e of c.env ?? [])
            expect(e).toEqual({ name: e.name, valueFrom: { secretKeyRef: expect.any(Object) } });
        }
      }
    });
  }

  it("a misspelt value is refused by the chart's values schema, not silently ignored", () => {
    const run = helm(['template', 'netward', CHART, '--set', 'mcpServer.replica=3']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/replica/);
  });

  it('more than one broker without a shared replay cache is refused at render time', () => {
    const run = helm(['template', 'netward', CHART, '--set', 'caBroker.replicas=2']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('caBroker.replay.existingClaim');
  });

  it('production: brokers share the replay claim and read their OpenBao AppRole from files copied 0600', () => {
    const { objects } = renders.production();
    const pod = must(objects, 'Deployment', 'ca-broker').spec.template.spec;
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes['replay'].persistentVolumeClaim).toEqual({ claimName: 'netward-broker-replay' });
    expect(volumes['secrets'].emptyDir).toMatchObject({ medium: 'Memory' });
    expect(volumes['secret-source'].secret.secretName).toBe('netward-broker-openbao');
    expect(pod.initContainers[0].command.join(' ')).toContain('0o600');
    expect(must(objects, 'HorizontalPodAutoscaler', 'ca-broker').spec.minReplicas).toBe(3);
  });
});

/** The MCP server's rendered config as a plain object. */
function mcpConfigOf(objects: K8sObject[]): Record<string, unknown> {
  return parseYaml(must(objects, 'ConfigMap', 'mcp-server').data!['mcp-server.yaml']!);
}

/** Every file path a config names lies under a volume the service's container mounts. */
function expectMounted(objects: K8sObject[], component: string, paths: string[]) {
  const mounts: { mountPath: string }[] = must(objects, 'Deployment', component).spec.template.spec
    .containers[0].volumeMounts;
  for (const p of paths)
    expect(
      mounts.some((m) => p.startsWith(`${m.mountPath}/`)),
      p,
    ).toBe(true);
}

describe('the rendered service configurations load through the services’ own loaders', () => {
  const policyArgs = ['--set-file', `policy=${DEFAULT_POLICY}`];
  for (const [name, extra] of [
    ['default', []],
    ['production', ['-f', PRODUCTION]],
    ['default with a policy file', policyArgs],
  ] as const) {
    it(`${name}: the MCP server's config, with the files its pod mounts`, () => {
      const { objects } = render([...extra]);
      const cm = must(objects, 'ConfigMap', 'mcp-server');
      const files: Record<string, string> = {
        '/etc/netward/config/known_hosts': cm.data!['known_hosts']!,
        '/run/netward/secrets/client-secret': 'a-client-secret-from-the-secret\n',
      };
      const config = parseMcpConfig(mcpConfigOf(objects), '/etc/netward/config/mcp-server.yaml', (p) => {
        const text = files[p];
        if (text === undefined) throw new Error(`the pod has no file ${p}`);
        return text;
      });
      expect(config.listen).toEqual({ host: '0.0.0.0', port: 8000 });
      expect(config.broker.url).toBe('http://netward-ca-broker:8443');
      expect(config.hostCaKeys.length).toBe(1);
      const raw = mcpConfigOf(objects) as {
        tokenExchange: { clientSecretFile: string };
        policyFile?: string;
      };
      expectMounted(objects, 'mcp-server', [
        raw.tokenExchange.clientSecretFile,
        '/etc/netward/config/mcp-server.yaml',
        ...(raw.policyFile ? [raw.policyFile] : []),
      ]);
    });

    it(`${name}: the broker's config`, () => {
      const { objects } = render([...extra]);
      const file = join(work, `ca-broker-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, must(objects, 'ConfigMap', 'ca-broker').data!['ca-broker.yaml']!);
      const config = loadBrokerConfig(file, {});
      expect(config.listen).toEqual({ host: '0.0.0.0', port: 8443 });
      expect(config.replay.directory).toBe('/var/lib/netward/replay/jti');
      const paths = [config.replay.directory!, ...(config.policyFile ? [config.policyFile] : [])];
      if (config.backend.type === 'vault' && config.backend.auth.method === 'approle') {
        paths.push(config.backend.auth.roleIdFile, config.backend.auth.secretIdFile);
      }
      if (config.hostSigning.operatorTokenFile) paths.push(config.hostSigning.operatorTokenFile);
      expectMounted(objects, 'ca-broker', paths);
    });
  }

  it('a policy file reaches both services as the policy loader reads it', () => {
    const { objects } = render(policyArgs);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'netward-policy');
    const policy = parsePolicy(cm!.data!['policy.yaml']!, '/etc/netward/policy/policy.yaml');
    const names = (p: typeof policy) => p.roles.map((r) => r.name).sort();
    expect(names(policy)).toEqual(names(defaultPolicy()));
    expect(mcpConfigOf(objects)['policyFile']).toBe('/etc/netward/policy/policy.yaml');
  });

  it('the TACACS+ server carries the tac_plus-ng file netward-policy renders, its key only from a Secret', () => {
    const cfg = renderTacPlusNg(defaultPolicy(), {
      listen: { address: '0.0.0.0', port: 4949 },
      device: { name: 'validators', address: '10.20.0.0/16' },
    });
    const file = join(work, 'tac_plus-ng.cfg');
    writeFileSync(file, cfg);
    const { objects } = render(['--set', 'tacacs.enabled=true', '--set-file', `tacacs.config=${file}`]);
    expect(must(objects, 'ConfigMap', 'tacacs').data!['tac_plus-ng.cfg']!.trimEnd()).toBe(cfg.trimEnd());
    expect(cfg).toContain(`\${${TACACS_KEY_ENV}}`);
    const container = must(objects, 'Deployment', 'tacacs').spec.template.spec.containers[0];
    expect(container.env).toEqual([
      {
        name: TACACS_KEY_ENV,
        valueFrom: { secretKeyRef: { name: 'netward-tacacs-key', key: 'tacacs-key' } },
      },
    ]);
    expect(container.ports[0].containerPort).toBe(4949);
    expect(must(objects, 'Service', 'tacacs').spec.ports[0].port).toBe(49);
  });
});

it('the chart names the Dockerfiles its images are built from, and they exist', () => {
  const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  for (const dockerfile of ['docker/mcp-server/Dockerfile', 'docker/ca-broker/Dockerfile']) {
    expect(values).toContain(dockerfile);
    expect(existsSync(join(ROOT, dockerfile))).toBe(true);
  }
  expect(values).toContain('docker/tac_plus-ng');
});
