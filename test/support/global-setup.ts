/**
 * Runs once before all test files, in Jest's parent process:
 *  - starts a Temporal dev server from the cached CLI (scripts/ensure-temporal-cli.sh)
 *    on a free port, with the order search attributes registered; in memory, so it
 *    never touches `npm start`'s data;
 *  - creates a fresh PostgreSQL database for this run and migrates it (the core,
 *    then the simulated venue's own migrations);
 *  - picks a run-unique prefix for NATS subjects and stream names;
 *  - bundles the workflow code once with the SDK's bundler.
 * Test files read what they need from the environment variables set here (Jest
 * forks its workers after this, so they inherit them).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { connectDatabase } from '../../persistence/orm';
import { migrateSimulatedVenue } from '../../venue/simulated/database';
import { ORDER_SEARCH_ATTRIBUTE_KEYS } from '../../workflows/order/definitions';
import { devServerArgs } from '../../scripts/temporal-dev-server';
import { TEST_STATE, type TestRunState } from './run-state';

const ROOT = join(__dirname, '..', '..');

export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

  const cli = execFileSync('bash', [join(ROOT, 'scripts/ensure-temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n')
    .pop() as string;

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const [env, databaseUrl, bundlePath] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli },
        ip: '127.0.0.1',
        searchAttributes: ORDER_SEARCH_ATTRIBUTE_KEYS,
        log: { format: 'pretty', level: 'error' },
        extraArgs: devServerArgs(false),
      },
    }),
    createDatabase(runId),
    bundleWorkflows(runId),
  ]);

  process.env.NODE_ENV = 'test';
  // Webhook receivers in the tests listen on 127.0.0.1; tests of the refusal turn this off.
  process.env.WEBHOOK_ALLOW_PRIVATE = 'true';
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'warn';
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = 'default';
  process.env.DATABASE_URL = databaseUrl;
  process.env.EVENTS_PREFIX = `t${runId}`;
  process.env.TEST_RUN_ID = runId;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;

  const state: TestRunState = { env, databaseUrl, bundleDir: join(bundlePath, '..'), eventsPrefix: `t${runId}` };
  (globalThis as Record<symbol, unknown>)[TEST_STATE] = state;
}

async function createDatabase(runId: string): Promise<string> {
  const base = new URL(process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/oms_test_${runId}`;
  const url = base.toString();
  const orm = await connectDatabase(url);
  await orm.close();
  await migrateSimulatedVenue(url);
  return url;
}

async function bundleWorkflows(runId: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `oms-test-${runId}-`));
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}
