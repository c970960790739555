/**
 * The `npm start` supervisor. Starts, in order:
 *  1. the Temporal dev server (unless one already answers at TEMPORAL_ADDRESS), with a
 *     file database under DATA_DIR so workflows survive a restart, the Web UI on
 *     TEMPORAL_UI_PORT, and the order search attributes registered;
 *  2. database migrations and the JetStream streams and consumers;
 *  3. the processes: worker, API, and the background processes;
 * prints where to find the API and the Web UI, restarts a process that crashes, and
 * on Ctrl-C stops everything in reverse order (the API first, the server last).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { connectDatabase } from '../persistence/orm';
import { createLogger } from '../runtime/logger';
import { backoffMs } from '../runtime/timing';
import { migrateSimulatedVenue } from '../venue/simulated/database';
import { ORDER_SEARCH_ATTRIBUTE_KEYS } from '../workflows/order/definitions';
import { startBanner } from './banner';
import { compiledMain, PROCESSES } from './processes';
import { setupMessaging } from './setup-messaging';
import { devServerArgs } from './temporal-dev-server';

const config = loadConfig();
const logger = createLogger('start', config.LOG_LEVEL);
const DIST = resolve(__dirname, '..');


const children = new Map<string, ChildProcess>();
let stopping = false;

function pipe(name: string, child: ChildProcess): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      // Once we asked it to stop, the dev server's own shutdown chatter is noise.
      if (!(stopping && name === 'temporal')) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res())));
}

function startProcess(name: string, script: string, restarts = 0): void {
  const child = spawn(process.execPath, [join(DIST, script)], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(name, child);
  pipe(name, child);
  const startedAt = Date.now();
  child.once('exit', (code, signal) => {
    if (stopping) return;
    // A crash is restarted with backoff; one that ran a while starts its count over.
    const n = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
    const delay = backoffMs(n + 1, 1_000, 30_000);
    logger.error({ child: name, code, signal, restartInMs: delay }, 'process exited; restarting');
    setTimeout(() => !stopping && startProcess(name, script, n), delay).unref();
  });
}

async function temporalAnswers(): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: 1_000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function startTemporal(): Promise<void> {
  if (await temporalAnswers()) {
    logger.info({ address: config.TEMPORAL_ADDRESS }, 'using the Temporal server already running there');
    await registerSearchAttributes();
    return;
  }
  const [host, port] = config.TEMPORAL_ADDRESS.split(':');
  const cli = process.env.TEMPORAL_CLI;
  if (!cli) throw new Error('TEMPORAL_CLI is not set: run through `npm start` (scripts/start.sh provisions it)');
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    port,
    '--ui-port',
    String(config.TEMPORAL_UI_PORT),
    '--db-filename',
    join(dataDir, 'temporal.db'),
    '--namespace',
    config.TEMPORAL_NAMESPACE,
    '--log-level',
    'warn',
    ...ORDER_SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ...devServerArgs(true),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.set('temporal', child);
  pipe('temporal', child);
  child.once('exit', (code) => {
    if (!stopping) {
      logger.fatal({ code }, 'the Temporal dev server exited; stopping');
      void stop(1);
    }
  });
  const deadline = Date.now() + 60_000;
  while (!(await temporalAnswers())) {
    if (Date.now() > deadline) throw new Error('the Temporal dev server did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 500));
  }
  logger.info({ address: config.TEMPORAL_ADDRESS, database: join(dataDir, 'temporal.db') }, 'Temporal dev server is up');
}

/** For a server we did not start: add the search attributes the order workflow upserts. */
async function registerSearchAttributes(): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: config.TEMPORAL_NAMESPACE });
    const missing = ORDER_SEARCH_ATTRIBUTE_KEYS.filter((k) => !customAttributes?.[k.name]);
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace: config.TEMPORAL_NAMESPACE,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
    });
    logger.info({ added: missing.map((k) => k.name) }, 'registered search attributes');
  } finally {
    await connection.close();
  }
}

async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('stopping everything');
  for (const name of [...PROCESSES.map((p) => p.name)].reverse().concat('temporal')) {
    const child = children.get(name);
    if (!child || child.exitCode !== null) continue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), config.SHUTDOWN_TIMEOUT_MS + 5_000);
    await exited(child);
    clearTimeout(timer);
    logger.info({ child: name }, 'stopped');
  }
  process.exit(code);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // Never outlive whoever started us (e.g. npm killed without forwarding the signal).
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void stop(0), 1_000).unref();

  await startTemporal();
  const orm = await connectDatabase(config.DATABASE_URL);
  await orm.close();
  if (config.VENUE === 'simulated') await migrateSimulatedVenue(config.DATABASE_URL);
  logger.info('database migrated');
  await setupMessaging(config);
  logger.info('JetStream streams and consumers are in place');

  for (const p of PROCESSES) startProcess(p.name, compiledMain(p));

  process.stdout.write(startBanner(config));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'start failed');
  void stop(1);
});
