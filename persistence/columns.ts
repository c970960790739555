/**
 * Column types the entity modules share. Money and quantities are numeric(38,18)
 * everywhere (20 integer and 18 fractional digits, exact); the ORM hands them over as
 * strings, which the domain turns into exact Decimals.
 */
import { p } from '@mikro-orm/core';

export function exactDecimal() {
  return p.decimal('string').precision(38).scale(18);
}
