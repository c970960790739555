/** Circuit breaker states as each process reports them (migration breaker_states). */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { BreakerSnapshot } from '../../runtime/breaker';

export const BreakerStates = defineEntity({
  name: 'BreakerStates',
  tableName: 'breaker_states',
  properties: {
    /** One running process: host and pid. */
    instance: p.text().primary(),
    process: p.text(),
    breakers: p.json<BreakerSnapshot[]>(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type BreakerStates = InferEntity<typeof BreakerStates>;

export const breakerEntities = [BreakerStates];
