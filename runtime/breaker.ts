/**
 * Circuit breakers (cockatiel): after `failureThreshold` consecutive failures a breaker
 * opens and refuses calls at once (BrokenCircuitError) for `halfOpenAfterMs`, then
 * half-opens: the next call is a probe; its success closes the breaker, its failure
 * opens it again. Used on venue submission (venue/breaker-exchange.ts) and on webhook
 * delivery (one breaker per webhook). A process's breakers live on one board, whose
 * snapshot is reported for readiness.
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  failureThreshold: number;
  halfOpenAfterMs: number;
}

export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** When it entered this state. */
  since: string;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

export { BrokenCircuitError };

export class Breaker {
  private readonly policy: CircuitBreakerPolicy;
  private since = new Date();

  constructor(
    readonly name: string,
    readonly settings: BreakerSettings,
    onChange?: (name: string, state: BreakerState) => void,
  ) {
    this.policy = circuitBreaker(handleAll, { halfOpenAfter: settings.halfOpenAfterMs, breaker: new ConsecutiveBreaker(settings.failureThreshold) });
    this.policy.onStateChange((s) => {
      this.since = new Date();
      onChange?.(name, STATES[s]);
    });
  }

  get state(): BreakerState {
    return STATES[this.policy.state];
  }

  /** Runs fn through the breaker: BrokenCircuitError at once while it is open. */
  execute<T>(fn: () => Promise<T>): Promise<T> {
    return this.policy.execute(fn);
  }

  snapshot(): BreakerSnapshot {
    return { name: this.name, state: this.state, since: this.since.toISOString() };
  }
}

/** A process's breakers, by name (created on first use with the board's settings). */
export class BreakerBoard {
  private readonly breakers = new Map<string, Breaker>();

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange?: (name: string, state: BreakerState) => void,
  ) {}

  get(name: string): Breaker {
    let b = this.breakers.get(name);
    if (!b) {
      b = new Breaker(name, this.settings, this.onChange);
      this.breakers.set(name, b);
    }
    return b;
  }

  /** Every breaker that is not closed, and the closed ones named in `always`. */
  snapshot(always: readonly string[] = []): BreakerSnapshot[] {
    return [...this.breakers.values()].filter((b) => b.state !== 'closed' || always.includes(b.name)).map((b) => b.snapshot());
  }
}
