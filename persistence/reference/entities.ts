/**
 * Reference data: the assets money is counted in and the instruments orders trade
 * (migration 001). Written by migrations and operators, only read by the service.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { exactDecimal } from '../columns';

export const Asset = defineEntity({
  name: 'Asset',
  tableName: 'assets',
  properties: {
    code: p.text().primary(),
    scale: p.smallint(),
  },
});
export type Asset = InferEntity<typeof Asset>;

/** The Instrument table's row (the domain's Instrument is the business value mapped from it). */
export const InstrumentRow = defineEntity({
  name: 'Instrument',
  tableName: 'instruments',
  properties: {
    symbol: p.text().primary(),
    baseAsset: () => p.manyToOne(Asset).ref().joinColumn('base_asset'),
    quoteAsset: () => p.manyToOne(Asset).ref().joinColumn('quote_asset'),
    tickSize: exactDecimal(),
    lotSize: exactDecimal(),
    minQuantity: exactDecimal(),
    feeRate: exactDecimal(),
    active: p.boolean(),
  },
});
export type InstrumentRow = InferEntity<typeof InstrumentRow>;

export const referenceEntities = [Asset, InstrumentRow];
