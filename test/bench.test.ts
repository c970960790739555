/**
 * Keeps `npm run bench` working: a short run of its programmatic entry (100 orders at
 * a small concurrency) against the real system, started by the benchmark itself from
 * dist/ with the npm start supervisor. Only that it completes, that its counts add up
 * and that it wrote its results is asserted; its figures never are (they depend on
 * the machine and on what else it is doing).
 *
 * dist/ is built only when it is older than the sources (scripts/ensure-build.sh, as
 * `npm run` commands do). The system uses the Temporal dev server global setup
 * started (the supervisor uses a server that already answers, on a task queue of its
 * own), which saves starting a second one; everything else is the benchmark's own:
 * ports, database, data directory, event prefix, all removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { summaryText, writeResults } from '../scripts/bench/report';
import { runBench } from '../scripts/bench/run';

const ROOT = join(__dirname, '..');
const ORDERS = 100;

describe('the benchmark (npm run bench)', () => {
  let dir: string;

  beforeAll(() => {
    // The twin's worker runs in this process: its SDK logs at WARN, as every test's worker does.
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    execFileSync('bash', [join(ROOT, 'scripts', 'ensure-build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    dir = mkdtempSync(join(tmpdir(), 'oms-bench-test-'));
  }, 180_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the order path and its twin against a system it starts, and writes its results', async () => {
    const result = await runBench({
      url: null,
      operatorKey: null,
      databaseUrl: null,
      temporalAddress: process.env.TEMPORAL_ADDRESS as string,
      temporalNamespace: 'default',
      orders: ORDERS,
      accounts: null,
      load: { kind: 'closed', concurrency: 8 },
      resting: null,
      restingFills: null,
      symbol: 'BTC-USD',
      warmup: 2,
      twin: { enabled: true, steps: 5, local: true, fillConcurrency: 8 },
      distDir: join(ROOT, 'dist'),
      logPath: join(dir, 'system.log'),
      baseDatabaseUrl: process.env.DATABASE_URL as string,
      natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      progress: false,
    });
    const summary = summaryText(result, dir);
    writeResults(dir, result, summary);

    expect(result.problems).toEqual([]);
    expect(result.passed).toBe(true);
    const p = result.project;
    expect(p.placement.samples).toHaveLength(ORDERS);
    expect(p.statuses).toEqual({ ACCEPTED: ORDERS });
    expect(p.tick.ours).toBe(ORDERS);
    expect(p.fillsApplied).toMatchObject({ source: 'database', expected: ORDERS, applied: ORDERS });
    expect(p.money.exact).toBe(p.money.accounts);
    expect(p.eventLag?.perFill.complete).toBe(ORDERS);
    if ('skipped' in result.twin) throw new Error(`the twin did not run: ${result.twin.skipped}`);
    expect(result.twin.placement.samples).toHaveLength(ORDERS);
    expect(result.twin.fills.samples).toHaveLength(ORDERS);
    expect(result.efficiency).not.toBeNull();
    if ('skipped' in result.memory) throw new Error(`no memory figures: ${result.memory.skipped}`);
    expect(Object.keys(result.memory.maxMb)).toEqual(expect.arrayContaining(['worker', 'api']));

    const json = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(json.project.orders).toBe(ORDERS);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    // Self-contained: nothing loaded from elsewhere.
    expect(html).not.toMatch(/<script|<link|\ssrc=/);
    expect(existsSync(join(dir, 'system.log'))).toBe(true);
  }, 420_000);
});
