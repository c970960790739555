/**
 * Keeps child processes running (the `npm start` supervisor's core):
 *
 * - a child that exits while the supervisor is not stopping is started again after a
 *   backoff: `baseDelayMs`, doubling with each crash in a row, at most `maxDelayMs` (a
 *   few seconds, so a crashing API is down seconds, not minutes); a child that ran
 *   `healthyAfterMs` before it exited starts its count over;
 * - the restart timers hold the event loop, so the supervisor never exits on its own
 *   while a child is down: it ends only through stop();
 * - stop() stops the children in the given order (SIGTERM, then SIGKILL after the
 *   timeout) and restarts nothing any more.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { backoffMs } from '../runtime/timing';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  healthyAfterMs: number;
  /** Each line a child writes (stdout and stderr). */
  onLine?: (name: string, line: string) => void;
  /** A child exited unasked; it starts again in `restartInMs`. */
  onCrash?: (name: string, exit: { code: number | null; signal: NodeJS.Signals | null; restartInMs: number; crashesInARow: number }) => void;
}

export const DEFAULT_SUPERVISION: SupervisorOptions = { baseDelayMs: 500, maxDelayMs: 5_000, healthyAfterMs: 30_000 };

interface Supervised {
  spec: ChildSpec;
  child: ChildProcess | null;
  crashes: number;
  restart: NodeJS.Timeout | null;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res())));
}

export class Supervisor {
  private readonly supervised = new Map<string, Supervised>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions = DEFAULT_SUPERVISION) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Starts a child and keeps it running until stop(). */
  start(spec: ChildSpec): void {
    const s: Supervised = { spec, child: null, crashes: 0, restart: null };
    this.supervised.set(spec.name, s);
    this.launch(s);
  }

  /** The running child's pid (undefined while it is down). */
  pid(name: string): number | undefined {
    const child = this.supervised.get(name)?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  private launch(s: Supervised): void {
    s.restart = null;
    const child = spawn(s.spec.command, s.spec.args, { env: s.spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    s.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.options.onLine?.(s.spec.name, line));
    }
    const startedAt = Date.now();
    // A spawn failure (no such executable) is an exit like any other: it is tried again.
    child.once('error', () => undefined);
    child.once('close', (code, signal) => {
      if (this.stopping) return;
      s.crashes = Date.now() - startedAt >= this.options.healthyAfterMs ? 1 : s.crashes + 1;
      const restartInMs = backoffMs(s.crashes, this.options.baseDelayMs, this.options.maxDelayMs);
      this.options.onCrash?.(s.spec.name, { code, signal, restartInMs, crashesInARow: s.crashes });
      // Not unref'd: while a child is down, this timer keeps the supervisor alive.
      s.restart = setTimeout(() => !this.stopping && this.launch(s), restartInMs);
    });
  }

  /** Stops every child, those named in `order` first in that order, then the rest. */
  async stop(order: readonly string[], timeoutMs: number, onStopped?: (name: string) => void): Promise<void> {
    this.stopping = true;
    const names = [...order.filter((n) => this.supervised.has(n)), ...[...this.supervised.keys()].filter((n) => !order.includes(n))];
    for (const name of names) {
      const s = this.supervised.get(name) as Supervised;
      if (s.restart) clearTimeout(s.restart);
      const child = s.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited(child);
      clearTimeout(timer);
      onStopped?.(name);
    }
  }
}
