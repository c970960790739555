/**
 * Exact decimal arithmetic for money and quantities. Workflow-safe (pure).
 *
 * Values travel as plain decimal strings ("12.5", never "1.25e+1") in JSON, in
 * workflow history and in PostgreSQL `numeric` columns; binary floating point never
 * touches them. Amounts carry at most 18 fractional digits (the `numeric(38,18)`
 * columns); multiplication of two such values can exceed that only for fee rates,
 * so results that are stored are checked with assertStorable.
 */
import DecimalJs from 'decimal.js';

/** An isolated Decimal constructor: 60 significant digits, never exponent notation. */
export const Decimal = DecimalJs.clone({
  precision: 60,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -60,
  toExpPos: 60,
});
export type Decimal = DecimalJs;

export const MAX_SCALE = 18;
export const MAX_INTEGER_DIGITS = 20;

export const ZERO = new Decimal(0);

const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export class DecimalFormatError extends Error {
  constructor(readonly input: unknown, reason: string) {
    super(`${JSON.stringify(input)} ${reason}`);
    this.name = 'DecimalFormatError';
  }
}

/** Parses a decimal string (or a JSON number) into a Decimal, refusing NaN, Infinity and garbage. */
export function dec(value: string | number | Decimal): Decimal {
  if (DecimalJs.isDecimal(value)) return new Decimal(value as Decimal);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DecimalFormatError(value, 'is not a finite number');
    // String(n) is the shortest text that round-trips, i.e. what the caller typed.
    return new Decimal(String(value));
  }
  if (typeof value !== 'string' || !DECIMAL_RE.test(value.trim())) {
    throw new DecimalFormatError(value, 'is not a decimal number');
  }
  return new Decimal(value.trim());
}

/** Canonical text: no exponent, no trailing zeros ("1.50" -> "1.5", "-0" -> "0"). */
export function str(value: Decimal | string | number): string {
  const d = dec(value);
  return d.isZero() ? '0' : d.toFixed();
}

/** Whether value fits numeric(38,18) exactly. */
export function isStorable(value: Decimal): boolean {
  return value.decimalPlaces() <= MAX_SCALE && value.abs().trunc().toFixed().length <= MAX_INTEGER_DIGITS;
}

export function assertStorable(value: Decimal, what: string): Decimal {
  if (!isStorable(value)) {
    throw new DecimalFormatError(str(value), `(${what}) exceeds ${MAX_SCALE} decimal places or ${MAX_INTEGER_DIGITS} integer digits`);
  }
  return value;
}

/** Whether value is an exact multiple of step (step > 0). */
export function isMultipleOf(value: Decimal, step: Decimal): boolean {
  return value.mod(step).isZero();
}

export function min(a: Decimal, b: Decimal): Decimal {
  return a.lessThan(b) ? a : b;
}

export function sum(values: Iterable<Decimal>): Decimal {
  let total = ZERO;
  for (const v of values) total = total.plus(v);
  return total;
}
