/**
 * The `npm start` supervisor. Starts, in order:
 *  1. the Temporal dev server (unless one already answers at TEMPORAL_ADDRESS), with a
 *     file database under DATA_DIR so workflows survive a restart, the Web UI on
 *     TEMPORAL_UI_PORT, and the order search attributes registered;
 *  2. database migrations and the JetStream streams and consumers;
 *  3. the processes: worker, API, and the background processes;
 * prints where to find the API and the Web UI, restarts a process that crashes (the
 * dev server too; backoff capped at a few seconds, see supervisor.ts), never exits
 * while one is down, and on Ctrl-C stops everything in reverse order (the API first,
 * the server last).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { connectDatabase } from '../persistence/orm';
import { createLogger } from '../runtime/logger';
import { migrateSimulatedVenue } from '../venue/simulated/database';
import { ORDER_SEARCH_ATTRIBUTE_KEYS } from '../workflows/order/definitions';
import { startBanner } from './banner';
import { compiledMain, PROCESSES } from './processes';
import { DEFAULT_SUPERVISION, Supervisor } from './supervisor';
import { setupMessaging } from './setup-messaging';
import { devServerArgs } from './temporal-dev-server';

const config = loadConfig();
const logger = createLogger('start', config.LOG_LEVEL);
const DIST = resolve(__dirname, '..');


const supervisor = new Supervisor({
  ...DEFAULT_SUPERVISION,
  onLine: (name, line) => {
    // Once we asked it to stop, the dev server's own shutdown chatter is noise.
    if (!(supervisor.isStopping && name === 'temporal')) process.stdout.write(`[${name}] ${line}\n`);
  },
  onCrash: (child, exit) => logger.error({ child, ...exit }, 'process exited; restarting'),
});

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
  // Supervised like the rest: restarted on its database file, workflows carry on.
  supervisor.start({ name: 'temporal', command: cli, args });
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

let stopping = false;
async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('stopping everything');
  const order = [...PROCESSES.map((p) => p.name)].reverse().concat('temporal');
  await supervisor.stop(order, config.SHUTDOWN_TIMEOUT_MS + 5_000, (child) => logger.info({ child }, 'stopped'));
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

  for (const p of PROCESSES) supervisor.start({ name: p.name, command: process.execPath, args: [join(DIST, compiledMain(p))] });

  process.stdout.write(startBanner(config));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'start failed');
  void stop(1);
});
