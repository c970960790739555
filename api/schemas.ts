/**
 * Request schemas (zod): the boundary where untrusted input becomes typed values.
 * Money, prices and quantities are JSON strings in plain decimal notation: a JSON
 * number has already been rounded by the JSON parser before any code sees it
 * (12345678901234567 arrives as 12345678901234568), so numbers are refused, and so is
 * anything but digits with an optional point and digits (".5", "1.", "1e3"). They
 * leave as canonical decimal strings; nothing downstream sees a JS number for money.
 */
import { z } from 'zod';
import { dec, isStorable, str, type Decimal } from '../domain/decimal';
import { ACCOUNT_STATUSES } from '../persistence/accounts/entities';
import { ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, TIME_IN_FORCE } from '../domain/order';

/** Digits, optionally a point and digits: the only decimal text the API takes. */
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

/**
 * A decimal given as a JSON string in plain notation, out as a canonical string;
 * `rule` returns why an otherwise valid decimal is refused, or null.
 */
function decimalInput(rule: (d: Decimal) => string | null) {
  return z.unknown().transform((v, ctx) => {
    if (typeof v !== 'string' || !PLAIN_DECIMAL.test(v)) {
      const why = typeof v === 'number' ? 'must be a string (a JSON number loses digits), e.g. "12.5"' : 'must be a decimal string of digits, e.g. "12.5"';
      ctx.addIssue({ code: 'custom', message: why });
      return z.NEVER;
    }
    const d = dec(v);
    const refusal = rule(d) ?? (isStorable(d) ? null : 'must have at most 18 decimal places and 20 integer digits');
    if (refusal) {
      ctx.addIssue({ code: 'custom', message: refusal });
      return z.NEVER;
    }
    return str(d);
  });
}

const positiveDecimal = decimalInput((d) => (d.isPositive() && !d.isZero() ? null : 'must be greater than 0'));
const nonNegativeDecimal = decimalInput((d) => (d.isNegative() ? 'must be 0 or more' : null));

/** A query parameter listing allowed values, comma-separated (`?status=A,B`); optional. */
export function commaList<const T extends string>(allowed: readonly T[], what: string, normalize: (s: string) => string = (s) => s) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return undefined;
      const values = v.split(',').map((s) => normalize(s.trim()));
      const unknown = values.filter((s) => !(allowed as readonly string[]).includes(s));
      if (unknown.length) {
        ctx.addIssue({ code: 'custom', message: `unknown ${what} ${unknown.join(', ')}; one or more of ${allowed.join(', ')}` });
        return z.NEVER;
      }
      return values as T[];
    });
}

/** An identifier chosen by the client: printable, no spaces, 1..64 characters. */
const clientId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -');

export const uuid = z.uuid({ message: 'must be a UUID' });

const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z' }).transform((v) => new Date(v).toISOString());

export const createAccountBody = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
});

export const fundsBody = z.object({
  asset: z.string().regex(/^[A-Z0-9]{2,12}$/, 'must be an asset code such as USD or BTC'),
  amount: positiveDecimal,
  reference: clientId,
});

/** A deposit: of a base asset it may declare what one unit cost, in the instrument's quote asset. */
export const depositBody = fundsBody.extend({ costBasis: nonNegativeDecimal.optional() });

export const placeOrderBody = z.object({
  clientOrderId: clientId,
  accountId: uuid,
  symbol: z.string().regex(/^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$/, 'must be a symbol such as BTC-USD'),
  side: z.enum(ORDER_SIDES, { message: `must be one of ${ORDER_SIDES.join(', ')}` }),
  type: z.enum(ORDER_TYPES, { message: `must be one of ${ORDER_TYPES.join(', ')}` }),
  quantity: positiveDecimal,
  limitPrice: positiveDecimal.nullish(),
  timeInForce: z.enum(TIME_IN_FORCE, { message: `must be one of ${TIME_IN_FORCE.join(', ')}` }).optional(),
  expireAt: isoDateTime.nullish(),
});
export type PlaceOrderBody = z.infer<typeof placeOrderBody>;

export const cancelOrderBody = z
  .object({ reason: z.string().trim().max(500, 'must be at most 500 characters').optional() })
  .default({});

export const listOrdersQuery = z.object({
  accountId: uuid.optional(),
  status: commaList(ORDER_STATUSES, 'status', (s) => s.toUpperCase()),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.string().optional(),
});

export const accountStatusBody = z.object({
  status: z.enum(ACCOUNT_STATUSES, { message: `must be one of ${ACCOUNT_STATUSES.join(', ')}` }),
});

/** Rotation: how long the keys it replaces keep working (default a day, at most 30). */
export const rotateKeyBody = z
  .object({ graceSeconds: z.number({ message: 'must be a number of seconds' }).int('must be whole seconds').min(0).max(30 * 86_400).default(86_400) })
  .default({ graceSeconds: 86_400 });

export const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  before: z.string().regex(/^\d+$/, 'must be an entry id').optional(),
});

export const tickBody = z.object({
  symbol: z.string().regex(/^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$/, 'must be a symbol such as BTC-USD'),
  price: positiveDecimal,
  liquidity: nonNegativeDecimal.nullish(),
});

/** PUT /market/rules/:symbol: what the simulated venue does with the symbol's cancels and submissions. */
export const venueRulesBody = z.object({
  refuseCancels: z.boolean({ message: 'must be true or false' }),
  rejectSubmissions: z.string().trim().min(1, 'must not be empty (null: take submissions)').max(200, 'must be at most 200 characters').nullable(),
});
