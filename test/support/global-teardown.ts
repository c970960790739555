/**
 * Runs once after all test files: stops the Temporal dev server, drops the run's
 * database and deletes the run's NATS streams, so a test run leaves nothing behind.
 */
import { rmSync } from 'node:fs';
import { dropDatabase } from '../../persistence/orm';
import { deleteStreamsWithPrefix } from './nats-cleanup';
import { TEST_STATE, type TestRunState } from './run-state';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<symbol, unknown>)[TEST_STATE] as TestRunState | undefined;
  if (!state) return;
  const results = await Promise.allSettled([
    state.env.teardown(),
    process.env.KEEP_TEST_DATABASE ? Promise.resolve() : dropDatabase(state.databaseUrl),
    deleteStreamsWithPrefix(state.eventsPrefix),
  ]);
  rmSync(state.bundleDir, { recursive: true, force: true });
  for (const r of results) {
    if (r.status === 'rejected') console.error('[global-teardown]', r.reason);
  }
}
