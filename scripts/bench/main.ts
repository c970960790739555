/**
 * `npm run bench [-- options]`: benchmarks the order service black box through its
 * HTTP API, next to a bare-Temporal twin of the order workflow's shape on the same
 * Temporal server. See `npm run bench -- --help`.
 *
 * Prints the summary on stdout (progress on stderr) and writes the whole run as JSON
 * and a chart page under bench-results/<timestamp>/. Exits non-zero when a check
 * fails (an account's money not exactly what its fills imply, fills not applied,
 * failed requests); figures themselves never fail a run.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../config';
import { DEFAULT_DELIVERY_CONCURRENCY } from '../../workers/venue/fill-dispatcher';
import type { Load } from './load';
import { summaryText, writeResults } from './report';
import { runBench, type BenchOptions } from './run';

const HELP = `npm run bench -- [options]

Target (default: start the whole system with the npm start supervisor, on its own
ports, database, data directory and event prefix; stopped and removed afterwards):
  --url URL                 benchmark a running system's API instead
  --operator-key KEY        its operator key (or OPERATOR_API_KEY)
  --database-url URL        its database: fills timed from the portfolio subscriber's
                            processed events, and event lag (n/a without it)
  --temporal-address H:P    its Temporal server, for the twin (twin skipped without it);
                            without --url: use this server instead of a dev server
  --temporal-namespace NS   (default: default)

Load (one of):
  --concurrency N           closed loop: N requests in flight (default 20)
  --rate N                  open loop: N orders/s, latency from when each was due
  --orders N                orders to place (default 400)
  --accounts N              accounts they are spread over (default: one per order, at most 1000)

Scale point:
  --resting N               N resting orders (default load: --rate 40), then a tick that
                            fills --resting-fills of them (default N/10); 100 accounts

Twin (bare Temporal, same load, same server):
  --twin-activities K       no-op activities before the placing answer (default 4, as the order's)
  --twin-local              local activities (default)
  --twin-regular            regular activities
  --twin-fill-concurrency N fill updates in flight (default: the fill dispatcher's, ${DEFAULT_DELIVERY_CONCURRENCY})
  --no-twin                 skip it

  --symbol S                (default BTC-USD)
  --warmup N                unmeasured warm-up orders (default 10)
  --results-dir DIR         (default bench-results)
  --no-progress             no progress bar
`;

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not "${v}"`);
  return n;
}

function parseBenchArgs(argv: string[]): { options: Omit<BenchOptions, 'logPath'>; resultsDir: string; help: boolean } {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string' },
      'operator-key': { type: 'string' },
      'database-url': { type: 'string' },
      'temporal-address': { type: 'string' },
      'temporal-namespace': { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      orders: { type: 'string' },
      accounts: { type: 'string' },
      resting: { type: 'string' },
      'resting-fills': { type: 'string' },
      'twin-activities': { type: 'string' },
      'twin-local': { type: 'boolean' },
      'twin-regular': { type: 'boolean' },
      'twin-fill-concurrency': { type: 'string' },
      'no-twin': { type: 'boolean' },
      symbol: { type: 'string' },
      warmup: { type: 'string' },
      'results-dir': { type: 'string' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.concurrency !== undefined && v.rate !== undefined) throw new Error('give --concurrency (closed loop) or --rate (open loop), not both');
  if (v['twin-local'] && v['twin-regular']) throw new Error('give --twin-local or --twin-regular, not both');
  const resting = v.resting === undefined ? null : Math.floor(positive('resting', v.resting, 0));
  const load: Load =
    v.rate !== undefined
      ? { kind: 'open', rate: positive('rate', v.rate, 0) }
      : v.concurrency === undefined && resting !== null
        ? { kind: 'open', rate: 40 }
        : { kind: 'closed', concurrency: Math.floor(positive('concurrency', v.concurrency, 20)) };
  const config = loadConfig();
  // The order's placing steps: validate, admit (record + lock), submit, accept.
  const twinSteps = v['twin-activities'] === undefined ? 4 : Number(v['twin-activities']);
  if (!Number.isInteger(twinSteps) || twinSteps < 0) throw new Error('--twin-activities must be a whole number >= 0');
  return {
    help: v.help === true,
    resultsDir: v['results-dir'] ?? 'bench-results',
    options: {
      url: v.url ?? null,
      operatorKey: v['operator-key'] ?? (v.url ? (process.env.OPERATOR_API_KEY ?? null) : null),
      databaseUrl: v['database-url'] ?? null,
      temporalAddress: v['temporal-address'] ?? null,
      temporalNamespace: v['temporal-namespace'] ?? 'default',
      orders: Math.floor(positive('orders', v.orders, 400)),
      accounts: v.accounts === undefined ? null : Math.floor(positive('accounts', v.accounts, 0)),
      load,
      resting,
      restingFills: v['resting-fills'] === undefined ? null : Math.floor(positive('resting-fills', v['resting-fills'], 0)),
      symbol: v.symbol ?? 'BTC-USD',
      warmup: v.warmup === undefined ? 10 : Math.max(0, Math.floor(Number(v.warmup))),
      twin: {
        enabled: v['no-twin'] !== true,
        steps: twinSteps,
        local: v['twin-regular'] !== true,
        fillConcurrency: Math.floor(positive('twin-fill-concurrency', v['twin-fill-concurrency'], DEFAULT_DELIVERY_CONCURRENCY)),
      },
      // Compiled, this file is dist/scripts/bench/main.js: the system it starts is the dist/ it belongs to.
      distDir: resolve(__dirname, '..', '..'),
      baseDatabaseUrl: config.DATABASE_URL,
      natsUrl: config.NATS_URL,
      progress: v['no-progress'] !== true,
    },
  };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return;
  }
  // The twin's worker runs in this process; Ctrl-C is ours to handle (stop the system in order), not the SDK's.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = resolve(join(parsed.resultsDir, stamp));
  mkdirSync(dir, { recursive: true });

  const abort = new AbortController();
  process.on('SIGINT', () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\n[bench] interrupted: stopping (Ctrl-C again to quit at once)\n');
    abort.abort();
  });

  const result = await runBench({ ...parsed.options, logPath: join(dir, 'system.log'), signal: abort.signal });
  const summary = summaryText(result, dir);
  writeResults(dir, result, summary);
  process.stdout.write(`${summary}\n`);
  process.exitCode = result.passed ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
