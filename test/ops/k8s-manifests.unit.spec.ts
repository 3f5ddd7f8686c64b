import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { configVariables, loadConfig } from '../../runtime/config';
import { orderLimits } from '../../contexts/orders/limits';
import { sagaSettings } from '../../contexts/orders/settings';
import { loadPaymentsConfig } from '../../contexts/payments/config';

/**
 * The Kubernetes manifests in ops/k8s agree with the code: they parse, the probes reach the
 * port the app listens on, each Deployment runs its role with the shared ConfigMap and
 * Secret, every setting they pass is one the runtime or a context reads (and passes its
 * validation), and the HPA never scales workers past PARTITIONS. Where kubectl is installed,
 * the kustomization is rendered too, as `kubectl apply -k` would.
 */

const REPO = path.join(__dirname, '..', '..');
const K8S_DIR = path.join(REPO, 'ops', 'k8s');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** `KEY=value` lines of an env file (comments and blank lines skipped). */
function readEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

type Env = Record<string, string | undefined>;

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; runAsUser?: number };
}
interface Deployment {
  kind: 'Deployment';
  metadata: { name: string };
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds?: number;
        topologySpreadConstraints?: { maxSkew: number; topologyKey: string; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> } }[];
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
      };
    };
  };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

/** Every *.yaml file of ops/k8s, parsed; each must hold exactly one document without errors. */
function loadManifests(): Map<string, Manifest> {
  const files = fs.readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
  const byFile = new Map<string, Manifest>();
  for (const file of files) {
    const docs = parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, file), 'utf8'));
    if (!Array.isArray(docs)) throw new Error(`${file}: no YAML document`);
    expect(docs, file).to.have.length(1);
    const [doc] = docs;
    expect(doc.errors.map((e) => e.message), `${file}: YAML errors`).to.deep.equal([]);
    expect(doc.warnings.map((e) => e.message), `${file}: YAML warnings`).to.deep.equal([]);
    byFile.set(file, doc.toJS() as Manifest);
  }
  return byFile;
}

/** The environment variables a settings reader looks at (readSettings reads each key of its schema). */
function variablesReadBy(read: (env: Env) => unknown): string[] {
  const seen = new Set<string>();
  const env = new Proxy({} as Env, {
    get(_target, key) {
      if (typeof key === 'string') seen.add(key);
      return undefined;
    },
  });
  read(env);
  return [...seen];
}

/** The contexts' own settings readers; `readers are all known` below keeps this list complete. */
const CONTEXT_SETTINGS_READERS: Record<string, (env: Env) => unknown> = {
  'contexts/orders/settings.ts': sagaSettings,
  'contexts/orders/limits.ts': orderLimits,
  'contexts/payments/config.ts': loadPaymentsConfig,
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [full] : [];
  });
}

const container = (d: Deployment): Container => {
  expect(d.spec.template.spec.containers, `${d.metadata.name}: containers`).to.have.length(1);
  return d.spec.template.spec.containers[0];
};

const envOf = (c: Container): Env => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

describe('ops/k8s manifests', () => {
  const manifests = loadManifests();
  const get = <T = Manifest>(file: string): T => {
    const m = manifests.get(file);
    if (!m) throw new Error(`ops/k8s/${file} is missing`);
    return m as T;
  };
  const configMap = get<Manifest & { data: Record<string, unknown> }>('configmap.yaml');
  // The Secret is generated from secrets.env (git-ignored); the example names its keys.
  const secret = { metadata: { name: 'tributary-secrets' }, stringData: readEnvFile(path.join(K8S_DIR, 'secrets.env.example')) };
  /** The example with its placeholders filled in, as an operator's secrets.env would be. */
  const filledSecrets = Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, v.replace(/REPLACE_ME\w*/, 'a-real-value-of-more-than-32-characters')]));
  const web = get<Deployment>('web-deployment.yaml');
  const worker = get<Deployment>('worker-deployment.yaml');
  const service = get<Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } }>('web-service.yaml');
  const hpa = get<Manifest & {
    spec: {
      scaleTargetRef: { apiVersion: string; kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: { type: string; resource?: { name: string } }[];
    };
  }>('worker-hpa.yaml');
  const settings = configMap.data as Record<string, string>;
  const deployments = [
    { deployment: web, role: 'web', migrates: 'true' },
    { deployment: worker, role: 'worker', migrates: 'false' },
  ];

  it('parses every file into one object with apiVersion, kind and name', () => {
    expect([...manifests.keys()]).to.include.members([
      'kustomization.yaml', 'configmap.yaml', 'web-deployment.yaml', 'web-service.yaml',
      'web-pdb.yaml', 'worker-deployment.yaml', 'worker-hpa.yaml', 'worker-pdb.yaml',
    ]);
    for (const [file, m] of manifests) {
      expect(m.apiVersion, `${file}: apiVersion`).to.be.a('string');
      expect(m.kind, `${file}: kind`).to.be.a('string');
      if (m.kind !== 'Kustomization') expect(m.metadata?.name, `${file}: metadata.name`).to.be.a('string');
    }
  });

  it('lists every manifest of the folder in the kustomization, and nothing else', () => {
    const { resources } = get<Manifest & { resources: string[] }>('kustomization.yaml');
    const others = [...manifests.keys()].filter((f) => f !== 'kustomization.yaml');
    expect([...resources].sort()).to.deep.equal(others);
  });

  for (const { deployment, role, migrates } of deployments) {
    describe(`${deployment.metadata.name}`, () => {
      const c = container(deployment);

      it(`runs ROLE=${role} with MIGRATE_ON_START=${migrates}, image tributary:<package.json version>`, () => {
        expect(envOf(c)).to.include({ ROLE: role, MIGRATE_ON_START: migrates });
        expect(c.image).to.equal(`tributary:${VERSION}`);
      });

      it('spreads its pods over nodes, and a PodDisruptionBudget lets one go at a time', () => {
        const labels = deployment.spec.selector.matchLabels;
        const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
        expect(spread.map((t) => t.topologyKey)).to.include('kubernetes.io/hostname');
        for (const t of spread) expect(t.labelSelector.matchLabels).to.deep.equal(labels);
        const pdbs = [...manifests.values()].filter((m) => m.kind === 'PodDisruptionBudget') as (Manifest & { spec: { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } })[];
        const mine = pdbs.filter((p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(labels));
        expect(mine, 'one PodDisruptionBudget selecting exactly these pods').to.have.length(1);
        expect(mine[0].apiVersion).to.equal('policy/v1');
        expect(mine[0].spec.maxUnavailable).to.equal(1);
        const least = deployment.spec.replicas ?? hpa.spec.minReplicas;
        expect(least, 'one pod still runs while the budget lets one go').to.be.at.least(2);
      });

      it('takes its environment from the ConfigMap and the Secret', () => {
        expect(c.envFrom?.map((f) => f.configMapRef?.name).filter(Boolean)).to.deep.equal([configMap.metadata.name]);
        expect(c.envFrom?.map((f) => f.secretRef?.name).filter(Boolean)).to.deep.equal([secret.metadata.name]);
      });

      it('probes /readyz for readiness and /healthz for liveness on the port the app listens on (PORT)', () => {
        const port = (p: Probe | undefined, what: string): number => {
          const ref = p?.httpGet?.port;
          const found = typeof ref === 'number' ? c.ports?.find((x) => x.containerPort === ref) : c.ports?.find((x) => x.name === ref);
          if (!found) throw new Error(`${deployment.metadata.name}: ${what} port ${String(ref)} is not a container port`);
          return found.containerPort;
        };
        expect(c.readinessProbe?.httpGet?.path).to.equal('/readyz');
        expect(c.livenessProbe?.httpGet?.path).to.equal('/healthz');
        expect(port(c.readinessProbe, 'readinessProbe')).to.equal(Number(settings.PORT));
        expect(port(c.livenessProbe, 'livenessProbe')).to.equal(Number(settings.PORT));
        if (c.startupProbe) {
          expect(c.startupProbe.httpGet?.path).to.equal('/healthz');
          expect(port(c.startupProbe, 'startupProbe')).to.equal(Number(settings.PORT));
        }
      });

      it('asks Prometheus to scrape /metrics on the http port (pod annotations)', () => {
        const a = deployment.spec.template.metadata.annotations ?? {};
        expect(a['prometheus.io/scrape']).to.equal('true');
        expect(a['prometheus.io/path']).to.equal('/metrics');
        const http = c.ports?.find((p) => p.name === 'http');
        expect(http, 'a container port named http').to.not.equal(undefined);
        expect(Number(a['prometheus.io/port'])).to.equal(http!.containerPort);
        expect(Number(a['prometheus.io/port'])).to.equal(Number(settings.PORT));
      });

      it('gives the drain time before SIGKILL: grace period > preStop pause + SHUTDOWN_TIMEOUT_MS + 2 s', () => {
        const preStop = c.lifecycle?.preStop?.exec?.command;
        const pauseMs = preStop ? Number(preStop[preStop.indexOf('sleep') + 1]) * 1000 : 0;
        expect(pauseMs, 'preStop must be `sleep N`').to.not.be.NaN;
        const graceMs = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
        expect(graceMs).to.be.above(pauseMs + Number(settings.SHUTDOWN_TIMEOUT_MS) + 2_000);
      });

      it('sets CPU and memory requests and limits', () => {
        for (const kind of ['requests', 'limits'] as const) {
          expect(c.resources?.[kind], kind).to.have.all.keys('cpu', 'memory');
        }
      });

      it('runs as a numeric non-root user without privilege escalation', () => {
        const pod = deployment.spec.template.spec.securityContext;
        expect(pod?.runAsNonRoot).to.equal(true);
        expect(pod?.runAsUser, 'a numeric uid: the image names its user, which runAsNonRoot cannot check').to.be.a('number').and.above(0);
        expect(c.securityContext?.allowPrivilegeEscalation).to.equal(false);
      });

      it('selects its own pods', () => {
        expect(deployment.spec.template.metadata.labels).to.include(deployment.spec.selector.matchLabels);
      });

      it('passes the runtime and the contexts their validation with this environment', () => {
        const env: Env = { ...settings, ...filledSecrets, ...envOf(c) };
        const config = loadConfig(env);
        expect(config.role).to.equal(role);
        expect(config.migrateOnStart).to.equal(migrates === 'true');
        for (const read of Object.values(CONTEXT_SETTINGS_READERS)) expect(() => read(env)).to.not.throw();
      });
    });
  }

  describe('ConfigMap and Secret', () => {
    const contextVariables = Object.values(CONTEXT_SETTINGS_READERS).flatMap(variablesReadBy);
    const perDeployment = ['ROLE', 'MIGRATE_ON_START', 'OTEL_SERVICE_NAME'];

    it('sets only variables that runtime/config.ts or a context reads, as strings', () => {
      // LEASE_TTL_MS and LEASE_RENEW_MS included: the partition leases read them.
      const known = new Set([...configVariables, ...contextVariables]);
      const unknown = Object.keys(settings).filter((k) => !known.has(k));
      expect(unknown, 'ConfigMap keys that nothing reads').to.deep.equal([]);
      for (const [key, value] of Object.entries(configMap.data)) expect(value, key).to.be.a('string');
    });

    it('leaves the secrets and the per-Deployment settings to the Secret and the Deployments', () => {
      expect(Object.keys(secret.stringData).sort()).to.deep.equal(['AUTH_JWT_SECRET', 'DATABASE_URL', 'REDIS_URL']);
      for (const value of Object.values(secret.stringData)) expect(value, 'an example, marked').to.include('REPLACE_ME');
      // A process refuses the example's placeholders, should they reach it.
      for (const key of Object.keys(secret.stringData)) {
        expect(() => loadConfig({ ...settings, ...filledSecrets, [key]: secret.stringData[key] }), key).to.throw(`${key} still holds the placeholder REPLACE_ME`);
      }
      expect(fs.readFileSync(path.join(REPO, '.gitignore'), 'utf8').split('\n'), 'secrets.env is never committed').to.include('ops/k8s/secrets.env');
      for (const key of [...perDeployment, 'DATABASE_URL', 'REDIS_URL', 'AUTH_JWT_SECRET']) expect(settings, key).to.not.have.property(key);
    });

    it('sets every runtime variable somewhere: ConfigMap, Secret or each Deployment', () => {
      for (const { deployment } of deployments) {
        const env = { ...settings, ...secret.stringData, ...envOf(container(deployment)) };
        const missing = configVariables.filter((v) => !(v in env));
        expect(missing, `${deployment.metadata.name}: runtime variables not set`).to.deep.equal([]);
      }
    });

    it('renews a partition lease well within its TTL', () => {
      expect(Number(settings.LEASE_TTL_MS)).to.equal(4000);
      expect(Number(settings.LEASE_RENEW_MS)).to.equal(1000);
      expect(Number(settings.LEASE_RENEW_MS) * 2).to.be.at.most(Number(settings.LEASE_TTL_MS));
    });

    it('knows every context that reads settings of its own (so the checks above cover them)', () => {
      const readers = sourceFiles(path.join(REPO, 'contexts'))
        .filter((f) => /\breadSettings\(/.test(fs.readFileSync(f, 'utf8')))
        .map((f) => path.relative(REPO, f).split(path.sep).join('/'))
        .sort();
      expect(readers).to.deep.equal(Object.keys(CONTEXT_SETTINGS_READERS).sort());
      expect(contextVariables).to.include.members(['ORDER_STEP_TIMEOUT_MS', 'PAYMENT_CHARGE_CONCURRENCY']);
    });
  });

  it('routes the web Service to the web pods only, on their HTTP port', () => {
    const webLabels = web.spec.template.metadata.labels;
    expect(webLabels).to.include(service.spec.selector);
    expect(worker.spec.template.metadata.labels).to.not.include(service.spec.selector);
    const target = service.spec.ports[0].targetPort;
    const port = container(web).ports?.find((p) => p.name === target || p.containerPort === target);
    expect(port?.containerPort, `targetPort ${target}`).to.equal(Number(settings.PORT));
  });

  it('scales the workers on CPU, never past PARTITIONS (a partition has one owner)', () => {
    expect(hpa.apiVersion).to.equal('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).to.deep.equal({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
    expect(hpa.spec.metrics.map((m) => m.resource?.name)).to.deep.equal(['cpu']);
    expect(hpa.spec.minReplicas).to.be.within(1, hpa.spec.maxReplicas);
    expect(hpa.spec.maxReplicas).to.be.at.most(Number(settings.PARTITIONS));
    expect(worker.spec.replicas, 'the HPA owns the worker count; an apply must not reset it').to.equal(undefined);
  });

  describe('kubectl apply -k ops/k8s (rendered with kubectl kustomize)', function () {
    before(function () {
      if (!hasKubectl) this.skip();
    });

    /** A copy of ops/k8s, with a secrets.env of these values when given. */
    function copyWith(secrets?: Record<string, string>): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-k8s-'));
      for (const f of fs.readdirSync(K8S_DIR)) if (f !== 'secrets.env') fs.copyFileSync(path.join(K8S_DIR, f), path.join(dir, f));
      if (secrets) fs.writeFileSync(path.join(dir, 'secrets.env'), Object.entries(secrets).map(([k, v]) => `${k}=${v}\n`).join(''));
      return dir;
    }

    it('refuses to render without secrets.env, naming it: no placeholder Secret can be deployed', () => {
      const dir = copyWith();
      try {
        const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.contain('secrets.env');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('renders the Secret from secrets.env and points both Deployments at its generated name', () => {
      const dir = copyWith({ DATABASE_URL: 'postgres://app:s3cret@db:5432/tributary', REDIS_URL: 'redis://:s3cret@redis:6379' });
      try {
        const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS() as Manifest);
        const secrets = rendered.filter((m) => m.kind === 'Secret') as (Manifest & { data: Record<string, string> })[];
        expect(secrets).to.have.length(1);
        const name = secrets[0].metadata.name;
        expect(name).to.match(/^tributary-secrets-[a-z0-9]+$/);
        expect(Buffer.from(secrets[0].data.DATABASE_URL, 'base64').toString()).to.equal('postgres://app:s3cret@db:5432/tributary');
        const deps = rendered.filter((m) => m.kind === 'Deployment') as unknown as Deployment[];
        expect(deps.map((d) => d.metadata.name).sort()).to.deep.equal(['tributary-web', 'tributary-worker']);
        for (const d of deps) {
          const c = d.spec.template.spec.containers[0];
          expect(c.envFrom?.map((f) => f.secretRef?.name).filter(Boolean)).to.deep.equal([name]);
          expect(c.image).to.equal(`tributary:${VERSION}`);
        }
        expect(rendered.map((m) => m.kind).sort()).to.deep.equal(
          ['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PodDisruptionBudget', 'Secret', 'Service'],
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
