/**
 * Resident memory of the processes the supervisor runs, from /proc (Linux): the
 * supervisor's children are found by their command line (each process's compiled
 * main, scripts/processes.ts), looked up again at every sample so a restarted
 * process is followed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { compiledMain, PROCESSES } from '../processes';

/** VmRSS of a process in MiB, or null when it is gone (or /proc is not there). */
export function rssMb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The supervisor's process children by process name (worker, api, ...). */
export function supervisedPids(supervisorPid: number): Map<string, number> {
  const found = new Map<string, number>();
  for (const pid of childrenOf(supervisorPid)) {
    const cmd = commandLine(pid);
    // The command line ends in the entry point the supervisor started, e.g. .../dist/workers/order/main.js.
    const p = PROCESSES.find((spec) => cmd.trimEnd().endsWith(`/${compiledMain(spec)}`));
    if (p) found.set(p.name, pid);
    else if (/temporal\b.*start-dev/.test(cmd)) found.set('temporal', pid);
  }
  return found;
}

export interface MemoryReport {
  /** Highest VmRSS seen per process, MiB. */
  maxMb: Record<string, number>;
  samples: number;
}

/** Samples every supervised process (and this one) at an interval until stopped. */
export class MemorySampler {
  private readonly max = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly supervisorPid: number | null,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** One sample now; returns what it read (MiB per process). */
  sample(): Record<string, number> {
    const now: Record<string, number> = {};
    const pids = this.supervisorPid ? supervisedPids(this.supervisorPid) : new Map<string, number>();
    pids.set('bench', process.pid);
    if (this.supervisorPid) pids.set('supervisor', this.supervisorPid);
    for (const [name, pid] of pids) {
      const mb = rssMb(pid);
      if (mb === null) continue;
      now[name] = mb;
      this.max.set(name, Math.max(mb, this.max.get(name) ?? 0));
    }
    this.samples++;
    return now;
  }

  stop(): MemoryReport {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return { maxMb: Object.fromEntries(this.max), samples: this.samples };
  }
}
