/**
 * How the embedded Temporal server (`temporal server start-dev`, used by `npm start`,
 * the tests and the benchmark) is run. Its defaults pace a single-node development
 * server for a laptop; these settings remove that artificial pacing, each one here
 * with what it does. Durability stays: the server's database is still written before
 * anything is acknowledged, so a SIGKILL of any process, the server included, loses
 * nothing that was answered.
 *
 * Production runs a Temporal cluster on PostgreSQL (docker-compose.yml) instead, whose
 * own settings apply; none of these is needed there.
 */

/** Dynamic configuration for start-dev (`--dynamic-config-value KEY=JSON`). */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  // The dev server has one history shard, and its transfer queue (every hand-off of a
  // task to a task queue: each workflow task, each regular activity) is polled at most
  // 20 times a second by default, so each hand-off waits up to ~50 ms even on an idle
  // server. 1000/s makes the hand-off immediate.
  'history.transferProcessorMaxPollRPS': 1000,
  // One node serves every task-queue partition anyway: with one partition, a task is
  // never written to a partition no poller waits on.
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  // Search attributes change only at start-up here; don't reload them on every read.
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

/**
 * SQLite settings for the server's file database (`npm start`). WAL lets readers and
 * the writer proceed together; synchronous=NORMAL syncs the WAL at checkpoints rather
 * than at every commit: it survives a killed process (the OS has the writes), not a
 * power cut of the machine, which is what a development server trades for speed.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

/** The extra start-dev arguments for these settings (`withFileDatabase`: add the SQLite pragmas). */
export function devServerArgs(withFileDatabase: boolean): string[] {
  const args = Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
  if (withFileDatabase) args.push(...DEV_SERVER_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]));
  return args;
}
