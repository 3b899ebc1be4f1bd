import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARIABLES } from '../../core/config/schema.js';
import { SHUTDOWN_DEADLINE_MS } from '../../core/http/serve.js';

/**
 * Invariants of compose.yaml and searxng/settings.yml. The checks are plain functions that
 * return the problems they find, so each one is also run against a broken copy below to
 * prove it can fail.
 */

const root = new URL('../../', import.meta.url);
const composeText = readFileSync(new URL('compose.yaml', root), 'utf8');
const settingsText = readFileSync(new URL('searxng/settings.yml', root), 'utf8');

type Env = Record<string, string | number | boolean | null>;
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  ports?: (string | { target: number; published?: string | number })[];
  environment?: Env | string[];
  volumes?: (string | { source?: string; target: string })[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  restart?: string;
  stop_grace_period?: string;
  deploy?: {
    resources?: {
      reservations?: {
        devices?: { driver?: string; count?: number | string; capabilities?: string[] }[];
      };
    };
  };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Parses compose YAML the way Compose does: `<<` merge keys resolved, anchors expanded. */
const load = (text: string): Compose => parse(text, { merge: true, maxAliasCount: -1 }) as Compose;
const compose = load(composeText);
/** A deep copy to break on purpose. */
const copy = (): Compose => structuredClone(compose);

const ANVIL_SERVICES = {
  app: { command: ['node', 'dist/app/main.js'], port: 8080 },
  gateway: { command: ['node', 'dist/gateway/main.js'], port: 8081 },
  'model-proxy': { command: ['node', 'dist/model-proxy/main.js'], port: 11435 },
} as const;
const ALL_SERVICES = [...Object.keys(ANVIL_SERVICES), 'ollama', 'qdrant', 'minio', 'searxng'];

/** Which services each service must wait for, healthy. */
const DEPENDENCIES: Record<string, string[]> = {
  'model-proxy': ['ollama'],
  gateway: ['model-proxy', 'qdrant', 'minio', 'searxng'],
  app: ['model-proxy', 'qdrant', 'minio'],
};

/** Every environment variable Anvil reads: the config schema is the single list. */
const ANVIL_ENV_VARIABLES: readonly string[] = ENV_VARIABLES;

/** The .env variables compose must refuse to start without (no defaults, no sample values). */
const REQUIRED_SECRETS = [
  'ANVIL_MASTER_KEY',
  'ANVIL_INTERNAL_TOKEN',
  'QDRANT_API_KEY',
  'MINIO_ROOT_USER',
  'MINIO_ROOT_PASSWORD',
  'SEARXNG_SECRET',
];
/** Names that hold credentials, in .env or in a container's environment. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|MINIO_ROOT_USER/;

const MINIO_IMAGE = /^quay\.io\/minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/;

// ---------------------------------------------------------------------------------------
// Helpers

function envOf(service: Service): Env {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((entry) => {
      const i = entry.indexOf('=');
      return i < 0 ? [entry, null] : [entry.slice(0, i), entry.slice(i + 1)];
    }),
  );
}

function testCommand(service: Service): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

/** The container port of each `ports:` entry. */
function publishedTargets(service: Service): number[] {
  return (service.ports ?? []).map((p) =>
    typeof p === 'string' ? Number(p.split('/')[0]?.split(':').pop()) : p.target,
  );
}

function mountTargets(service: Service): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source = '', target = ''] = v.split(':');
      mounts.set(target, source);
    } else {
      mounts.set(v.target, v.source ?? '');
    }
  }
  return mounts;
}

/** Every `${...}` in the text (skipping `$${...}`, which Compose does not interpolate). */
function interpolations(text: string): { name: string; operator: string; raw: string }[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?[^}]*\}/g)].map((m) => ({
    name: m[1] ?? '',
    operator: m[2] ?? '',
    raw: m[0],
  }));
}

// ---------------------------------------------------------------------------------------
// Checks: each returns a list of problems (empty = fine)

function checkHealthchecks(c: Compose): string[] {
  const problems: string[] = [];
  for (const name of ALL_SERVICES) {
    const service = c.services[name];
    const test = service ? testCommand(service) : '';
    if (!service?.healthcheck || service.healthcheck.disable || !test || test === 'NONE') {
      problems.push(`${name}: no healthcheck`);
      continue;
    }
    if (!/^(CMD|CMD-SHELL) /.test(test)) problems.push(`${name}: healthcheck test is not CMD/CMD-SHELL`);
  }
  // The ollama and qdrant images ship neither curl nor wget.
  for (const name of ['ollama', 'qdrant']) {
    const service = c.services[name];
    if (service && /\b(curl|wget)\b/.test(testCommand(service))) {
      problems.push(`${name}: healthcheck uses curl/wget, which the image does not have`);
    }
  }
  const ollama = c.services.ollama;
  if (ollama && !/\bollama (list|ps)\b/.test(testCommand(ollama))) {
    problems.push('ollama: healthcheck should ask the server through the ollama CLI');
  }
  const qdrant = c.services.qdrant;
  if (qdrant && !/bash .*\/dev\/tcp\/127\.0\.0\.1\/6333.*\/readyz/s.test(testCommand(qdrant))) {
    problems.push('qdrant: healthcheck should GET /readyz over bash /dev/tcp');
  }
  const minio = c.services.minio;
  if (minio && !/^CMD mc ready local$/.test(testCommand(minio))) {
    problems.push('minio: healthcheck should be `mc ready local`');
  }
  const searxng = c.services.searxng;
  if (searxng && !/127\.0\.0\.1:8080\/healthz/.test(testCommand(searxng))) {
    problems.push('searxng: healthcheck should probe /healthz on port 8080');
  }
  for (const [name, { port }] of Object.entries(ANVIL_SERVICES)) {
    const service = c.services[name];
    const test = service ? testCommand(service) : '';
    if (!test.startsWith('CMD node -e ') || !test.includes(`http://127.0.0.1:${port}/healthz`)) {
      problems.push(`${name}: healthcheck should fetch its own /healthz on ${port} with node`);
    }
  }
  return problems;
}

function checkDependencies(c: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(c.services)) {
    const deps = service.depends_on;
    if (!deps) continue;
    if (Array.isArray(deps)) {
      problems.push(`${name}: depends_on is a list (no health condition)`);
      continue;
    }
    for (const [dep, spec] of Object.entries(deps)) {
      if (spec?.condition !== 'service_healthy') {
        problems.push(`${name} -> ${dep}: condition is not service_healthy`);
      }
    }
  }
  for (const [name, required] of Object.entries(DEPENDENCIES)) {
    const deps = c.services[name]?.depends_on ?? {};
    const have = Array.isArray(deps) ? deps : Object.keys(deps);
    for (const dep of required) {
      if (!have.includes(dep)) problems.push(`${name}: does not wait for ${dep}`);
    }
  }
  return problems;
}

function checkPorts(c: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(c.services)) {
    const targets = publishedTargets(service);
    if (name === 'app' || name === 'gateway') {
      const port = ANVIL_SERVICES[name].port;
      if (targets.length !== 1 || targets[0] !== port) {
        problems.push(`${name}: should publish exactly its port ${port}, publishes ${targets.join(',')}`);
      }
    } else if (service.ports !== undefined) {
      problems.push(`${name}: must not publish ports`);
    }
  }
  return problems;
}

function checkImages(c: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(c.services)) {
    const image = service.image;
    if (!image) {
      if (!service.build) problems.push(`${name}: neither image nor build`);
      continue;
    }
    const lastSegment = image.split('@')[0]?.split('/').pop() ?? '';
    const tag = lastSegment.includes(':') ? lastSegment.split(':').pop() : undefined;
    if (image.includes('${')) problems.push(`${name}: image reference is interpolated (${image})`);
    if (!tag && !image.includes('@sha256:')) problems.push(`${name}: image ${image} is not pinned`);
    if (tag === 'latest') problems.push(`${name}: image ${image} uses :latest`);
    // A version tag for upstream images; the locally built Anvil image is exempt.
    if (!service.build && tag && !/\d/.test(tag)) problems.push(`${name}: image tag ${tag} is not a version`);
  }
  const minio = c.services.minio?.image ?? '';
  if (!MINIO_IMAGE.test(minio)) problems.push(`minio: image ${minio} is not a quay.io RELEASE tag`);
  return problems;
}

/** Checks the compose text: every secret is required (`${VAR:?…}`), never defaulted or written in. */
function checkSecrets(text: string, c: Compose): string[] {
  const problems: string[] = [];
  const refs = interpolations(text);
  for (const ref of refs) {
    if (SECRET_NAME.test(ref.name) && ref.operator !== ':?') {
      problems.push(`${ref.raw}: a secret must use the required form \${${ref.name}:?message}`);
    }
  }
  for (const secret of REQUIRED_SECRETS) {
    if (!refs.some((r) => r.name === secret && r.operator === ':?')) {
      problems.push(`${secret}: not required anywhere in compose.yaml`);
    }
  }
  // No literal credential in any container's environment: either passed through from .env
  // (no value) or exactly one required interpolation.
  for (const [name, service] of Object.entries(c.services)) {
    for (const [key, value] of Object.entries(envOf(service))) {
      if (!SECRET_NAME.test(key) || value === null) continue;
      if (!/^\$\{[A-Z0-9_]+:\?[^}]*\}$/.test(String(value))) {
        problems.push(`${name}.${key}: secret value is written in (${String(value)})`);
      }
    }
  }
  return problems;
}

function checkAnvilServices(c: Compose): string[] {
  const problems: string[] = [];
  const [first, ...rest] = Object.keys(ANVIL_SERVICES).map((name) => c.services[name]);
  for (const [name, { command }] of Object.entries(ANVIL_SERVICES)) {
    const service = c.services[name];
    if (!service) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (JSON.stringify(service.command) !== JSON.stringify(command)) {
      problems.push(`${name}: command is ${JSON.stringify(service.command)}`);
    }
    if (!service.build) problems.push(`${name}: not built from the Dockerfile`);
    // Docker kills a container 10 s after SIGTERM unless told to wait longer; Anvil's own
    // shutdown deadline must run out first.
    const grace = /^(\d+)s$/.exec(service.stop_grace_period ?? '');
    if (!grace || Number(grace[1]) * 1_000 <= SHUTDOWN_DEADLINE_MS) {
      problems.push(`${name}: stop_grace_period ${service.stop_grace_period} is not longer than the shutdown deadline`);
    }
    if (mountTargets(service).get('/data') !== 'anvil-data') problems.push(`${name}: /data is not anvil-data`);
    const env = envOf(service);
    for (const key of Object.keys(env)) {
      if (!ANVIL_ENV_VARIABLES.includes(key)) problems.push(`${name}: ${key} is not an Anvil variable`);
    }
  }
  for (const other of rest) {
    if (JSON.stringify(other?.build) !== JSON.stringify(first?.build)) problems.push('Anvil builds differ');
    if (other?.image !== first?.image) problems.push('Anvil images differ');
    if (JSON.stringify(envOf(other ?? {})) !== JSON.stringify(envOf(first ?? {}))) {
      problems.push('Anvil environments differ');
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------

describe('compose.yaml', () => {
  it('defines the seven services and their named volumes', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...ALL_SERVICES].sort());
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [target, source] of mountTargets(service)) {
        if (source.startsWith('.') || source.startsWith('/')) continue; // bind mount
        expect(compose.volumes, `${name} mounts ${source} at ${target}`).toHaveProperty(source);
      }
    }
  });

  it('runs the three Anvil services from one build, with their commands and the same environment', () => {
    expect(checkAnvilServices(compose)).toEqual([]);

    const drifted = copy();
    drifted.services.gateway = { ...drifted.services.gateway, image: 'anvil:other' };
    envOf(drifted.services.app ?? {}).EXTRA_SETTING = '1';
    drifted.services['model-proxy'] = { ...drifted.services['model-proxy'], command: ['node', 'x.js'] };
    drifted.services.app = { ...drifted.services.app, stop_grace_period: '10s' };
    expect(checkAnvilServices(drifted)).toEqual(
      expect.arrayContaining([
        'app: EXTRA_SETTING is not an Anvil variable',
        'model-proxy: command is ["node","x.js"]',
        'app: stop_grace_period 10s is not longer than the shutdown deadline',
        'Anvil images differ',
        'Anvil environments differ',
      ]),
    );
  });

  it('wires the Anvil services to the other containers and to /data', () => {
    const env = envOf(compose.services.app ?? {});
    expect(env).toMatchObject({
      NODE_ENV: 'production',
      ANVIL_DATA_DIR: '/data',
      APP_PORT: '8080',
      GATEWAY_PORT: '8081',
      MODEL_PROXY_PORT: '11435',
      MODEL_PROXY_URL: 'http://model-proxy:11435',
      OLLAMA_URLS: 'http://ollama:11434',
      SEARXNG_URL: 'http://searxng:8080',
      QDRANT_URL: 'http://qdrant:6333',
      S3_ENDPOINT: 'http://minio:9000',
    });
    // S3 is all-or-nothing in Anvil's config: the four must be set together.
    for (const key of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET']) {
      expect(env[key], key).toEqual(expect.any(String));
    }
    // Anvil reads the MinIO root credentials compose gives MinIO itself.
    const minio = envOf(compose.services.minio ?? {});
    expect(env.S3_ACCESS_KEY).toBe(minio.MINIO_ROOT_USER);
    expect(env.S3_SECRET_KEY).toBe(minio.MINIO_ROOT_PASSWORD);
    expect(env.QDRANT_API_KEY).toBe(envOf(compose.services.qdrant ?? {}).QDRANT__SERVICE__API_KEY);
  });

  it('sizes Ollama parallelism and Anvil slots from one .env variable', () => {
    const slots = envOf(compose.services.app ?? {}).OLLAMA_SLOTS;
    expect(slots).toMatch(/^\$\{OLLAMA_SLOTS(:-\d+)?\}$/);
    expect(envOf(compose.services.ollama ?? {}).OLLAMA_NUM_PARALLEL).toBe(slots);
  });

  it('gives every service a healthcheck that works inside its image', () => {
    expect(checkHealthchecks(compose)).toEqual([]);

    const broken = copy();
    broken.services.qdrant = {
      ...broken.services.qdrant,
      healthcheck: { test: ['CMD', 'curl', '-f', 'http://localhost:6333/readyz'] },
    };
    broken.services.ollama = {
      ...broken.services.ollama,
      healthcheck: { test: 'CMD-SHELL wget -qO- http://localhost:11434/api/tags' },
    };
    delete broken.services.searxng?.healthcheck;
    broken.services.gateway = {
      ...broken.services.gateway,
      healthcheck: { test: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:8080/healthz')"] },
    };
    expect(checkHealthchecks(broken)).toEqual(
      expect.arrayContaining([
        'qdrant: healthcheck uses curl/wget, which the image does not have',
        'ollama: healthcheck uses curl/wget, which the image does not have',
        'searxng: no healthcheck',
        'gateway: healthcheck should fetch its own /healthz on 8081 with node',
      ]),
    );
  });

  it('starts services only after what they need is healthy', () => {
    expect(checkDependencies(compose)).toEqual([]);

    const broken = copy();
    broken.services.gateway = { ...broken.services.gateway, depends_on: ['model-proxy'] };
    broken.services.app = {
      ...broken.services.app,
      depends_on: { 'model-proxy': { condition: 'service_started' } },
    };
    expect(checkDependencies(broken)).toEqual(
      expect.arrayContaining([
        'gateway: depends_on is a list (no health condition)',
        'app -> model-proxy: condition is not service_healthy',
        'app: does not wait for minio',
        'gateway: does not wait for searxng',
      ]),
    );
  });

  it('publishes only the console and the webhook port', () => {
    expect(checkPorts(compose)).toEqual([]);

    const broken = copy();
    broken.services.qdrant = { ...broken.services.qdrant, ports: ['6333:6333'] };
    broken.services.app = { ...broken.services.app, ports: ['8080:8080', '9229:9229'] };
    expect(checkPorts(broken)).toEqual([
      'app: should publish exactly its port 8080, publishes 8080,9229',
      'qdrant: must not publish ports',
    ]);
  });

  it('pins every image, MinIO to a RELEASE tag', () => {
    expect(checkImages(compose)).toEqual([]);

    const broken = copy();
    broken.services.ollama = { ...broken.services.ollama, image: 'ollama/ollama:latest' };
    broken.services.qdrant = { ...broken.services.qdrant, image: 'qdrant/qdrant' };
    broken.services.minio = { ...broken.services.minio, image: 'minio/minio:latest' };
    expect(checkImages(broken)).toEqual(
      expect.arrayContaining([
        'ollama: image ollama/ollama:latest uses :latest',
        'qdrant: image qdrant/qdrant is not pinned',
        'minio: image minio/minio:latest is not a quay.io RELEASE tag',
      ]),
    );
  });

  it('requires every secret from .env and never defaults one', () => {
    expect(checkSecrets(composeText, compose)).toEqual([]);

    // `$` kept apart so these read as compose syntax, not template placeholders.
    const $ = '$';
    const defaultedRef = `${$}{MINIO_ROOT_PASSWORD:-minioadmin}`;
    const defaulted = composeText.replace(/\$\{MINIO_ROOT_PASSWORD:\?[^}]*\}/g, defaultedRef);
    expect(defaulted).not.toBe(composeText);
    expect(checkSecrets(defaulted, load(defaulted))).toEqual(
      expect.arrayContaining([
        `${defaultedRef}: a secret must use the required form ${$}{MINIO_ROOT_PASSWORD:?message}`,
        'MINIO_ROOT_PASSWORD: not required anywhere in compose.yaml',
      ]),
    );

    const literal = copy();
    envOf(literal.services.searxng ?? {}).SEARXNG_SECRET = 'changeme';
    expect(checkSecrets(composeText, literal)).toEqual([
      'searxng.SEARXNG_SECRET: secret value is written in (changeme)',
    ]);
  });

  it('gives Ollama the NVIDIA GPUs and keeps its models in a volume', () => {
    const ollama = compose.services.ollama ?? {};
    expect(ollama.deploy?.resources?.reservations?.devices).toContainEqual({
      driver: 'nvidia',
      count: 'all',
      capabilities: ['gpu'],
    });
    expect(compose.volumes).toHaveProperty(mountTargets(ollama).get('/root/.ollama') ?? '(none)');
  });

  it('keeps Qdrant and MinIO data in volumes and runs MinIO with its console address', () => {
    const qdrant = compose.services.qdrant ?? {};
    const minio = compose.services.minio ?? {};
    expect(compose.volumes).toHaveProperty(mountTargets(qdrant).get('/qdrant/storage') ?? '(none)');
    expect(compose.volumes).toHaveProperty(mountTargets(minio).get('/data') ?? '(none)');
    const command = Array.isArray(minio.command) ? minio.command.join(' ') : minio.command;
    expect(command).toBe('server /data --console-address :9001');
  });

  it('mounts the SearXNG settings read-only and gives it its secret', () => {
    const searxng = compose.services.searxng ?? {};
    expect(searxng.volumes).toContain('./searxng/settings.yml:/etc/searxng/settings.yml:ro');
    expect(envOf(searxng).SEARXNG_SECRET).toMatch(/^\$\{SEARXNG_SECRET:\?.+\}$/);
  });

  it('restarts every service unless stopped', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe('unless-stopped');
    }
  });
});

describe('searxng/settings.yml', () => {
  const settings = parse(settingsText) as {
    use_default_settings?: unknown;
    server?: Record<string, unknown>;
    search?: { formats?: string[] };
  };

  it('serves JSON and HTML on 0.0.0.0:8080 without the limiter', () => {
    expect(settings.use_default_settings).toBe(true);
    expect(settings.search?.formats).toEqual(expect.arrayContaining(['html', 'json']));
    expect(settings.server).toMatchObject({
      limiter: false,
      public_instance: false,
      bind_address: '0.0.0.0',
      port: 8080,
    });
  });

  it('takes the secret key from SEARXNG_SECRET, not from the file', () => {
    expect(settings.server).not.toHaveProperty('secret_key');
    expect(settingsText).not.toMatch(/ultrasecretkey/);
  });
});
