/** Reference data: assets, and instruments mapped to the domain's Instrument. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { str } from '../../domain/decimal';
import type { Instrument } from '../../domain/instrument';
import { Asset, InstrumentRow } from './entities';

function toInstrument(e: InstrumentRow): Instrument {
  return {
    symbol: e.symbol,
    baseAsset: e.baseAsset.code,
    quoteAsset: e.quoteAsset.code,
    tickSize: str(e.tickSize),
    lotSize: str(e.lotSize),
    minQuantity: str(e.minQuantity),
    feeRate: str(e.feeRate),
    active: e.active,
  };
}

export async function findInstrument(em: EntityManager, symbol: string): Promise<Instrument | null> {
  const row = await em.findOne(InstrumentRow, { symbol });
  return row ? toInstrument(row) : null;
}

export async function listInstruments(em: EntityManager): Promise<Instrument[]> {
  return (await em.find(InstrumentRow, {}, { orderBy: { symbol: 'asc' } })).map(toInstrument);
}

export async function findAsset(em: EntityManager, code: string): Promise<Asset | null> {
  return em.findOne(Asset, { code });
}

/** The instrument an asset is the base asset of (the first by symbol, if several), or null for a quote-only asset. */
export async function findInstrumentOfBase(em: EntityManager, asset: string): Promise<Instrument | null> {
  const row = await em.findOne(InstrumentRow, { baseAsset: asset }, { orderBy: { symbol: 'asc' } });
  return row ? toInstrument(row) : null;
}
