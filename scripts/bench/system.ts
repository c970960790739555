/**
 * The system the benchmark starts for itself when it is not given one: the real
 * `npm start` supervisor (dist/scripts/start.js) with every process it runs, isolated
 * from anything else on the machine: its own free ports (API, Temporal, Web UI), its
 * own database, its own Temporal task queue, DATA_DIR in a temporary directory and its
 * own EVENTS_PREFIX. Stopping it is the supervisor's own Ctrl-C path (SIGINT), then
 * the database, the directory and the prefix's JetStream streams are removed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectMessaging } from '../../messaging/nats';
import { dropDatabase } from '../../persistence/orm';
import { ApiClient } from './http';

export interface StartedSystem {
  url: string;
  operatorKey: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  eventsPrefix: string;
  supervisorPid: number;
  /** Everything the supervisor and its processes printed. */
  logPath: string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** The compiled system: the directory holding scripts/start.js (dist/). */
  distDir: string;
  logPath: string;
  /** Use this Temporal server instead of starting a dev server. */
  temporalAddress: string | null;
  /** Base connection URL; the system gets its own database on that server. */
  databaseUrl: string;
  natsUrl: string;
  log: (line: string) => void;
}

const ROOT = resolve(__dirname, '..', '..');

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.unref();
    server.on('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? res(address.port) : rej(new Error('no port'))));
    });
  });
}

/** The Temporal CLI (which the supervisor runs as the dev server), provisioned as `npm start` does. */
function temporalCli(): string {
  if (process.env.TEMPORAL_CLI && existsSync(process.env.TEMPORAL_CLI)) return process.env.TEMPORAL_CLI;
  // Works from the sources and from dist/ alike: the script lives in the repository's scripts/.
  const script = [join(ROOT, 'scripts', 'ensure-temporal-cli.sh'), join(ROOT, '..', 'scripts', 'ensure-temporal-cli.sh')].find((p) => existsSync(p));
  if (!script) throw new Error('scripts/ensure-temporal-cli.sh not found: set TEMPORAL_CLI');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() as string;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

async function deleteStreams(natsUrl: string, prefix: string): Promise<void> {
  const { nc, jsm } = await connectMessaging(natsUrl, 'bench-cleanup');
  try {
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startSystem(opts: SystemOptions): Promise<StartedSystem> {
  const start = join(opts.distDir, 'scripts', 'start.js');
  if (!existsSync(start)) throw new Error(`${start} not found: build first (bash scripts/build.sh)`);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const [apiPort, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const db = new URL(opts.databaseUrl);
  db.pathname = `/oms_bench_${runId}`;
  const databaseUrl = db.toString();
  const dataDir = mkdtempSync(join(tmpdir(), `oms-bench-${runId}-`));
  const eventsPrefix = `bench_${runId}`;
  const operatorKey = `bench-operator-${randomBytes(12).toString('hex')}`;
  const temporalAddress = opts.temporalAddress ?? `127.0.0.1:${temporalPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    // Its own queue: on a shared Temporal server its workers never take another deployment's tasks.
    TEMPORAL_TASK_QUEUE: `orders-bench-${runId}`,
    TEMPORAL_UI_PORT: String(uiPort),
    DATABASE_URL: databaseUrl,
    NATS_URL: opts.natsUrl,
    DATA_DIR: dataDir,
    EVENTS_PREFIX: eventsPrefix,
    OPERATOR_API_KEY: operatorKey,
    LOG_LEVEL: 'warn',
    SHUTDOWN_TIMEOUT_MS: '10000',
    TEMPORAL_CLI: opts.temporalAddress ? process.env.TEMPORAL_CLI : temporalCli(),
  };
  const logFile = createWriteStream(opts.logPath);
  // Its own process group: a Ctrl-C on the benchmark reaches only the benchmark, which then stops the system in order.
  const child = spawn(process.execPath, [start], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.pipe(logFile, { end: false });
  child.stderr?.pipe(logFile, { end: false });
  const url = `http://127.0.0.1:${apiPort}`;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      if (!(await exited(child, 60_000))) {
        opts.log('the supervisor did not stop within 60 s; killing its process group');
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // already gone
        }
        await exited(child, 5_000);
      }
    }
    logFile.end();
    const results = await Promise.allSettled([dropDatabase(databaseUrl), deleteStreams(opts.natsUrl, eventsPrefix)]);
    rmSync(dataDir, { recursive: true, force: true });
    for (const r of results) if (r.status === 'rejected') opts.log(`cleanup: ${(r.reason as Error).message}`);
  };

  const system: StartedSystem = {
    url,
    operatorKey,
    databaseUrl,
    temporalAddress,
    temporalNamespace: 'default',
    eventsPrefix,
    supervisorPid: child.pid as number,
    logPath: opts.logPath,
    stop,
  };
  try {
    await waitHealthy(url, child, opts.logPath);
  } catch (err) {
    await stop();
    throw err;
  }
  return system;
}

async function waitHealthy(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const api = new ApiClient(url, 2);
  const deadline = Date.now() + 180_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the supervisor exited (${child.exitCode}) while starting:\n${tail(logPath)}`);
      // Ready, not only alive: a worker polls the order task queue and every part answers.
      const answer = await api.request('GET', '/readyz', null).catch(() => null);
      if (answer?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`the system did not become ready within 180 s:\n${tail(logPath)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    api.close();
  }
}
