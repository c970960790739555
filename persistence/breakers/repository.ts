/**
 * Breaker states reported by the processes that have breakers (the order worker's
 * venue breaker, the notification subscriber's webhook breakers), read by readiness.
 * A process reports every few seconds (BreakerReporter); a report older than a few
 * rounds is a process that is gone.
 */
import { hostname } from 'node:os';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { BreakerBoard, BreakerSnapshot } from '../../runtime/breaker';
import { Pump } from '../../runtime/pump';
import type { Orm } from '../orm';
import { dbNow, sql } from '../sql';
import { BreakerStates } from './entities';

export interface ProcessBreakers {
  instance: string;
  process: string;
  breakers: BreakerSnapshot[];
}

export async function reportBreakerStates(em: EntityManager, report: ProcessBreakers): Promise<void> {
  await em.upsert(BreakerStates, { ...report, updatedAt: dbNow() });
}

export async function forgetBreakerStates(em: EntityManager, instance: string): Promise<void> {
  await em.nativeDelete(BreakerStates, { instance });
}

/** The reports refreshed within `freshMs`. */
export async function liveBreakerStates(em: EntityManager, freshMs: number): Promise<ProcessBreakers[]> {
  return sql<ProcessBreakers>(
    em,
    `select instance, process, breakers from breaker_states where updated_at > now() - make_interval(secs => :seconds) order by process, instance`,
    { seconds: freshMs / 1000 },
  );
}

/** Reports a board's breakers every `intervalMs`, and at once on a change; removes the report on stop. */
export class BreakerReporter {
  readonly instance = `${hostname()}/${process.pid}`;
  private readonly pump: Pump;

  constructor(
    private readonly orm: Orm,
    private readonly processName: string,
    private readonly board: BreakerBoard,
    private readonly always: readonly string[],
    private readonly intervalMs: number,
    onError: (err: unknown) => void,
  ) {
    this.pump = new Pump(
      () => reportBreakerStates(this.orm.em.fork(), { instance: this.instance, process: this.processName, breakers: this.board.snapshot(this.always) }),
      onError,
    );
  }

  start(): void {
    this.pump.start(this.intervalMs);
  }

  /** A breaker changed state: report now. */
  kick(): void {
    this.pump.kick();
  }

  async stop(): Promise<void> {
    await this.pump.stop();
    await forgetBreakerStates(this.orm.em.fork(), this.instance);
  }
}
