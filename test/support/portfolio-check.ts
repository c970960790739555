/**
 * "The portfolio equals what the ledger implies": for one account, the portfolio
 * projection's cash (total, locked) per asset must equal the ledger's balances
 * (available + locked, locked), and each position's net quantity must equal what the
 * account holds of the symbol's base asset (positions count every movement: deposits,
 * withdrawals and trades). The projection lags the ledger (events, relay,
 * subscriber), so this polls until they agree and fails with the differences after
 * ~20 s. Reusable by any scenario that runs the portfolio subscriber.
 */
import { dec, str } from '../../domain/decimal';
import type { Harness } from './harness';
import { eventually } from './pipeline';

interface Row {
  key: string;
  value: string;
}

/** Differences between two keyed sets of decimals (a key missing on one side counts as 0). */
function differences(what: string, ledger: Row[], portfolio: Row[]): string[] {
  const l = new Map(ledger.map((r) => [r.key, str(r.value)]));
  const p = new Map(portfolio.map((r) => [r.key, str(r.value)]));
  const out: string[] = [];
  for (const key of [...new Set([...l.keys(), ...p.keys()])].sort()) {
    const lv = l.get(key) ?? '0';
    const pv = p.get(key) ?? '0';
    if (!dec(lv).equals(dec(pv))) out.push(`${what} ${key}: ledger ${lv}, portfolio ${pv}`);
  }
  return out;
}

/** What disagrees now between the account's ledger and its portfolio (empty: they agree). */
export async function portfolioLedgerDifferences(h: Harness, accountId: string): Promise<string[]> {
  const em = h.orm.em.fork();
  const balances = await em.execute<{ asset: string; available: string; locked: string }[]>(
    'select asset, available, locked from balances where account_id = ?',
    [accountId],
  );
  const cash = await em.execute<{ asset: string; total: string; locked: string }[]>('select asset, total, locked from portfolio_cash where account_id = ?', [
    accountId,
  ]);
  // The instrument a base asset's position is kept in: the first by symbol (as the deposits name it).
  const ledgerNet = await em.execute<{ symbol: string; net: string }[]>(
    `select distinct on (i.base_asset) i.symbol, b.available + b.locked as net
     from balances b join instruments i on i.base_asset = b.asset
     where b.account_id = ?
     order by i.base_asset, i.symbol`,
    [accountId],
  );
  const positions = await em.execute<{ symbol: string; net_quantity: string }[]>(
    'select symbol, net_quantity from portfolio_positions where account_id = ?',
    [accountId],
  );
  return [
    ...differences(
      'cash total',
      balances.map((b) => ({ key: b.asset, value: str(dec(b.available).plus(dec(b.locked))) })),
      cash.map((c) => ({ key: c.asset, value: c.total })),
    ),
    ...differences(
      'cash locked',
      balances.map((b) => ({ key: b.asset, value: b.locked })),
      cash.map((c) => ({ key: c.asset, value: c.locked })),
    ),
    ...differences(
      'net quantity',
      ledgerNet.map((r) => ({ key: r.symbol, value: r.net })),
      positions.map((p) => ({ key: p.symbol, value: p.net_quantity })),
    ),
  ];
}

/** Waits until the account's portfolio agrees with its ledger; throws the differences after timeoutMs. */
export async function expectPortfolioMatchesLedger(h: Harness, accountId: string, timeoutMs = 20_000): Promise<void> {
  let diffs: string[] = [];
  try {
    await eventually(
      async () => (diffs = await portfolioLedgerDifferences(h, accountId)),
      (d) => d.length === 0,
      timeoutMs,
    );
  } catch (err) {
    if (diffs.length === 0) throw err;
    throw new Error(`the portfolio of account ${accountId} does not match its ledger after ${timeoutMs} ms:\n  ${diffs.join('\n  ')}`, { cause: err });
  }
}
