/**
 * The benchmark's programmatic entry: runBench(options) runs one whole benchmark
 * (against a given system or one it starts), and returns every figure; main.ts is
 * the command line around it, and the test calls it directly.
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { BenchDatabase } from './database';
import { ApiClient } from './http';
import { describeLoad, type Load, type LoadResult } from './load';
import { MemorySampler, type MemoryReport } from './memory';
import { Progress } from './progress';
import { runScenario, type ScenarioResult } from './scenario';
import { perSecond, summarize, type LatencySummary } from './stats';
import { startSystem, type StartedSystem } from './system';
import { runTwin, type TwinResult } from './twin';

export interface BenchOptions {
  /** The API of a running system; null: start one (distDir). */
  url: string | null;
  operatorKey: string | null;
  /** The system's database, for the figures only it can give (always known for a started system). */
  databaseUrl: string | null;
  /** Temporal for the twin (given a url), or for the started system instead of its own dev server. */
  temporalAddress: string | null;
  temporalNamespace: string;
  orders: number;
  /** Accounts the orders are spread over (null: one per order up to 1,000; 100 for --resting). */
  accounts: number | null;
  load: Load;
  /** The deep-book scale point: this many resting orders, of which `restingFills` fill. */
  resting: number | null;
  restingFills: number | null;
  symbol: string;
  warmup: number;
  twin: { enabled: boolean; steps: number; local: boolean; fillConcurrency: number };
  /** The compiled system to start (holds scripts/start.js). */
  distDir: string;
  /** Where the started system's log goes. */
  logPath: string;
  /** Base database URL and NATS for a started system (it gets its own database name and prefix). */
  baseDatabaseUrl: string;
  natsUrl: string;
  progress: boolean;
  signal?: AbortSignal;
}

export interface PhaseFigures {
  latencyMs: LatencySummary;
  perSecond: number;
  failures: number;
  failureMessages: string[];
  maxInFlight: number;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; memoryMb: number; node: string; platform: string };
  mode: 'main' | 'resting';
  target: { system: 'started' | 'given'; url: string; database: boolean; temporalAddress: string | null };
  options: { orders: number; accounts: number; load: Load; loadText: string; symbol: string; warmup: number; twin: BenchOptions['twin']; resting: number | null; restingFills: number | null };
  project: ScenarioResult & { placementFigures: PhaseFigures };
  twin: (TwinResult & { placementFigures: PhaseFigures; fillFigures: PhaseFigures }) | { skipped: string };
  memory: (MemoryReport & { atRestingMb: Record<string, number> | null }) | { skipped: string };
  /** Project ÷ twin for throughput; twin p99 ÷ project p99 for latency (1.0 = as fast as bare Temporal). */
  efficiency: { placementThroughput: number; placementP99: number; fillThroughput: number | null } | null;
  /** Raw samples, for the chart page. */
  samples: { project: LoadResult['samples']; twin: LoadResult['samples'] };
  passed: boolean;
  problems: string[];
}

export function figuresOf(r: LoadResult): PhaseFigures {
  return {
    latencyMs: summarize(r.samples.map((s) => s.latencyMs)),
    perSecond: perSecond(r.samples.length, r.elapsedMs),
    failures: r.failures,
    failureMessages: r.failureMessages,
    maxInFlight: r.maxInFlight,
  };
}

/** a ÷ b to two significant digits (a far-off ratio stays readable: 0.00034, not 0). */
const ratio = (a: number | null, b: number | null): number | null => (a && b ? Number((a / b).toPrecision(2)) : null);

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const progress = new Progress(process.stderr, opts.progress);
  const resting = opts.resting !== null;
  const orders = opts.resting ?? opts.orders;
  const accounts = Math.min(orders, opts.accounts ?? (resting ? 100 : 1_000));
  const fills = resting ? Math.min(orders, opts.restingFills ?? Math.ceil(orders / 10)) : orders;

  let system: StartedSystem | null = null;
  let db: BenchDatabase | null = null;
  let api: ApiClient | null = null;
  let sampler: MemorySampler | null = null;
  try {
    if (!opts.url) {
      progress.log('[bench] starting the system (npm start supervisor, its own ports, database and event prefix)');
      system = await startSystem({ distDir: opts.distDir, logPath: opts.logPath, temporalAddress: opts.temporalAddress, databaseUrl: opts.baseDatabaseUrl, natsUrl: opts.natsUrl, log: (l) => progress.log(`[bench] ${l}`) });
      progress.log(`[bench] system up: API ${system.url}, Temporal ${system.temporalAddress}`);
      sampler = new MemorySampler(system.supervisorPid);
      sampler.start();
    }
    const url = system?.url ?? (opts.url as string);
    const operatorKey = system?.operatorKey ?? opts.operatorKey;
    if (!operatorKey) throw new Error('--operator-key is needed with --url (accounts and ticks need the operator)');
    const databaseUrl = system?.databaseUrl ?? opts.databaseUrl;
    const temporalAddress = system?.temporalAddress ?? opts.temporalAddress;
    db = databaseUrl ? await BenchDatabase.connect(databaseUrl) : null;
    // Enough sockets that the client never queues requests itself (an open loop keeps sending while answers lag).
    api = new ApiClient(url, opts.load.kind === 'closed' ? opts.load.concurrency + 16 : 1024);

    let atRestingMb: Record<string, number> | null = null;
    const project = await runScenario(
      {
        api,
        operatorKey,
        db,
        progress,
        tag: `b${Date.now().toString(36)}${randomBytes(2).toString('hex')}`,
        symbol: opts.symbol,
        warmup: opts.warmup,
        ownSystem: system !== null,
        afterPlacement: () => {
          if (resting && sampler) atRestingMb = sampler.sample();
        },
        signal: opts.signal,
      },
      { orders, accounts, load: opts.load, fills },
    );

    let twin: BenchResult['twin'];
    if (resting) twin = { skipped: 'not run at the --resting scale point' };
    else if (!opts.twin.enabled) twin = { skipped: 'disabled (--no-twin)' };
    else if (!temporalAddress) twin = { skipped: 'needs --temporal-address with --url' };
    else {
      const t = await runTwin({
        temporalAddress,
        namespace: system?.temporalNamespace ?? opts.temporalNamespace,
        count: orders,
        load: opts.load,
        steps: opts.twin.steps,
        local: opts.twin.local,
        fillConcurrency: opts.twin.fillConcurrency,
        warmup: opts.warmup,
        progress,
        signal: opts.signal,
      });
      twin = { ...t, placementFigures: figuresOf(t.placement), fillFigures: figuresOf(t.fills) };
    }

    const memory = sampler ? { ...sampler.stop(), atRestingMb } : { skipped: 'only when the benchmark started the system (reads /proc of its processes)' };
    const placementFigures = figuresOf(project.placement);
    const efficiency =
      'skipped' in twin
        ? null
        : {
            placementThroughput: ratio(placementFigures.perSecond, twin.placementFigures.perSecond) ?? Number.NaN,
            placementP99: ratio(twin.placementFigures.latencyMs.p99, placementFigures.latencyMs.p99) ?? Number.NaN,
            fillThroughput: ratio(project.fillsApplied.perSecond, twin.fillFigures.perSecond),
          };

    const problems: string[] = [];
    if (project.placement.failures > 0) problems.push(`${project.placement.failures} placements failed`);
    if (project.tick.ours !== fills) problems.push(`the tick filled ${project.tick.ours} of the run's orders, ${fills} expected`);
    if (project.fillsApplied.applied !== project.fillsApplied.expected) problems.push(`the portfolio applied ${project.fillsApplied.applied} of ${project.fillsApplied.expected} fills`);
    if (project.money.exact !== project.money.accounts) problems.push(`${project.money.accounts - project.money.exact} accounts' balances differ from what their fills imply`);
    if (!('skipped' in twin) && (twin.placement.failures > 0 || twin.fills.failures > 0)) problems.push('twin requests failed');

    return {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryMb: Math.round(totalmem() / 2 ** 20), node: process.version, platform: `${process.platform}-${process.arch}` },
      mode: resting ? 'resting' : 'main',
      target: { system: system ? 'started' : 'given', url, database: db !== null, temporalAddress },
      options: { orders, accounts, load: opts.load, loadText: describeLoad(opts.load), symbol: opts.symbol, warmup: opts.warmup, twin: opts.twin, resting: opts.resting, restingFills: resting ? fills : null },
      project: { ...project, placementFigures },
      twin,
      memory,
      efficiency,
      samples: { project: project.placement.samples, twin: 'skipped' in twin ? [] : twin.placement.samples },
      passed: problems.length === 0,
      problems,
    };
  } finally {
    sampler?.stop();
    api?.close();
    await db?.close();
    if (system) {
      progress.log('[bench] stopping the system and removing its database, data directory and streams');
      await system.stop();
    }
  }
}
