/**
 * docker-compose.yml is for users without local PostgreSQL, NATS or Temporal: the
 * app runs on the host with its default configuration and must find every service
 * where those defaults point. The defaults come from the real config module, so a
 * change on either side that breaks `docker compose up -d && npm start` fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../config';

interface LongPort {
  target: number | string;
  published?: number | string;
}

interface Service {
  image: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | LongPort)[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(__dirname, '..', 'docker-compose.yml'), 'utf8')) as ComposeFile;
const defaults = loadConfig({});

function service(name: string): Service {
  const svc = compose.services[name];
  if (!svc) throw new Error(`docker-compose.yml has no service "${name}"`);
  return svc;
}

/** environment as a map, whichever of the two compose syntaxes is used. */
function env(svc: Service): Record<string, string> {
  const entries = Array.isArray(svc.environment)
    ? svc.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])
    : Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries);
}

/** host port -> container port, for "host:container", "ip:host:container[/tcp]" and long syntax. */
function publishedPorts(svc: Service): Map<number, number> {
  const map = new Map<number, number>();
  for (const p of svc.ports ?? []) {
    if (typeof p === 'object') {
      if (p.published !== undefined) map.set(Number(p.published), Number(p.target));
      continue;
    }
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length >= 2) map.set(Number(parts[parts.length - 2]), Number(parts[parts.length - 1]));
  }
  return map;
}

function words(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);
}

/** The value following the first of `flags` in `args`. */
function flagValue(args: string[], ...flags: string[]): string | undefined {
  const i = args.findIndex((a) => flags.includes(a));
  return i >= 0 ? args[i + 1] : undefined;
}

/** Name of the declared named volume mounted at `path`, if any. */
function namedVolumeAt(svc: Service, path: string): string | undefined {
  for (const v of svc.volumes ?? []) {
    const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    if (target === path && source && source in (compose.volumes ?? {})) return source;
  }
  return undefined;
}

function dependsOnHealthy(svc: Service, dependency: string): boolean {
  const deps = svc.depends_on;
  return !!deps && !Array.isArray(deps) && deps[dependency]?.condition === 'service_healthy';
}

/** host:port, as in TEMPORAL_ADDRESS (no scheme, so not a URL). */
function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

describe('docker-compose.yml', () => {
  describe('postgres (DATABASE_URL)', () => {
    const db = new URL(defaults.DATABASE_URL);
    const pg = service('postgres');

    it('publishes the port of the default DATABASE_URL to the container port 5432', () => {
      expect(publishedPorts(pg).get(Number(db.port || 5432))).toBe(5432);
    });

    it("creates the URL's user and database", () => {
      expect(env(pg).POSTGRES_USER).toBe(decodeURIComponent(db.username));
      expect(env(pg).POSTGRES_DB).toBe(decodeURIComponent(db.pathname.slice(1)));
    });

    it('accepts the password-less default URL (trust auth, dev only)', () => {
      expect(db.password).toBe('');
      expect(env(pg).POSTGRES_HOST_AUTH_METHOD).toBe('trust');
    });

    it('keeps its data in a named volume', () => {
      expect(namedVolumeAt(pg, '/var/lib/postgresql/data')).toBeDefined();
    });
  });

  describe('nats (NATS_URL)', () => {
    const url = new URL(defaults.NATS_URL);
    const nats = service('nats');
    const args = words(nats.command);

    it('publishes the port of the default NATS_URL to the container port 4222', () => {
      expect(publishedPorts(nats).get(Number(url.port || 4222))).toBe(4222);
    });

    it('enables JetStream with its store directory on a named volume', () => {
      expect(args.some((a) => a === '-js' || a === '--jetstream')).toBe(true);
      const storeDir = flagValue(args, '-sd', '--store_dir');
      expect(storeDir).toBeDefined();
      expect(namedVolumeAt(nats, storeDir!)).toBeDefined();
    });

    it('serves monitoring on the published port 8222, which its healthcheck uses', () => {
      expect(flagValue(args, '-m', '--http_port')).toBe('8222');
      expect(publishedPorts(nats).get(8222)).toBe(8222);
      expect(words(nats.healthcheck?.test).join(' ')).toContain(':8222/healthz?js-enabled-only=true');
    });
  });

  describe('temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)', () => {
    const address = hostPort(defaults.TEMPORAL_ADDRESS);
    const temporal = service('temporal');
    const t = env(temporal);

    it('publishes the port of the default TEMPORAL_ADDRESS to the frontend port 7233', () => {
      expect(address.host).toBe('127.0.0.1');
      expect(publishedPorts(temporal).get(address.port)).toBe(7233);
    });

    it('persists to the postgres service, once it is healthy', () => {
      expect(t.DB).toBe('postgres12');
      expect(t.POSTGRES_SEEDS).toBe('postgres');
      expect(Number(t.DB_PORT)).toBe(5432);
      expect(t.POSTGRES_USER).toBe(env(service('postgres')).POSTGRES_USER);
      expect(dependsOnHealthy(temporal, 'postgres')).toBe(true);
    });

    it("uses databases of its own, not the app's", () => {
      const appDb = new URL(defaults.DATABASE_URL).pathname.slice(1);
      // auto-setup's defaults when unset
      const temporalDbs = [t.DBNAME ?? 'temporal', t.VISIBILITY_DBNAME ?? 'temporal_visibility'];
      expect(temporalDbs).not.toContain(appDb);
      expect(new Set(temporalDbs).size).toBe(2);
    });

    it('creates the default TEMPORAL_NAMESPACE', () => {
      expect(t.DEFAULT_NAMESPACE ?? 'default').toBe(defaults.TEMPORAL_NAMESPACE);
    });
  });

  describe('temporal-admin-tools', () => {
    const tools = service('temporal-admin-tools');
    const script = words(tools.command).join('\n');
    const creates = [...script.matchAll(/temporal operator search-attribute create ([^\n]*)/g)].map((m) =>
      m[1].trim().split(/\s+/),
    );

    it('runs once, after the temporal server is healthy', () => {
      expect(tools.restart).toBe('no');
      expect(dependsOnHealthy(tools, 'temporal')).toBe(true);
    });

    it('registers exactly OrderStatus, AccountId, Symbol and Side as Keyword in TEMPORAL_NAMESPACE', () => {
      const registered = creates.flatMap((args) => {
        const names = args.flatMap((a, i) => (a === '--name' ? [args[i + 1]] : []));
        const types = args.flatMap((a, i) => (a === '--type' ? [args[i + 1]] : []));
        const namespace = flagValue(args, '--namespace', '-n');
        return names.map((name, i) => ({ name, type: types[i], namespace }));
      });
      const expected = ['AccountId', 'OrderStatus', 'Side', 'Symbol'].map((name) => ({
        name,
        type: 'Keyword',
        namespace: defaults.TEMPORAL_NAMESPACE,
      }));
      expect([...registered].sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected);
    });

    it('talks to the temporal service on its frontend port', () => {
      expect(creates.length).toBeGreaterThan(0);
      for (const args of creates) expect(flagValue(args, '--address')).toBe('temporal:7233');
    });
  });

  describe('temporal-ui', () => {
    const ui = service('temporal-ui');

    it('publishes the Web UI on http://localhost:8233', () => {
      expect(publishedPorts(ui).get(8233)).toBe(8080);
    });

    it('connects to the temporal service', () => {
      expect(env(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
    });
  });

  describe('every service', () => {
    const names = Object.keys(compose.services);

    it('includes exactly the expected services', () => {
      expect([...names].sort()).toEqual(['nats', 'postgres', 'temporal', 'temporal-admin-tools', 'temporal-ui']);
    });

    it.each(names)('%s uses an official image pinned to a version tag', (name) => {
      const match = /^(postgres|nats|temporalio\/[a-z-]+):([^:@\s]+)$/.exec(service(name).image);
      expect(match).not.toBeNull();
      expect(match![2]).toMatch(/^\d+(\.\d+)*(-[\w.-]+)?$/); // a version, not `latest`
    });

    it.each(names.filter((n) => service(n).restart !== 'no'))('%s (long-running) has a healthcheck', (name) => {
      const hc = service(name).healthcheck;
      expect(hc?.disable).not.toBe(true);
      expect(words(hc?.test).length).toBeGreaterThan(1);
      expect(words(hc?.test)[0]).not.toBe('NONE');
    });

    it('publishes each host port once', () => {
      const hostPorts = names.flatMap((n) => [...publishedPorts(service(n)).keys()]);
      expect(new Set(hostPorts).size).toBe(hostPorts.length);
    });
  });
});
