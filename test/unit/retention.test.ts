/** What the retention job may delete: the configured ages, raised to what idempotency needs (domain/retention.ts). */
import { describe, expect, it } from '@jest/globals';
import { effectiveRetentionAges, processedEventsFloorMs } from '../../domain/retention';

const DAY = 24 * 3600 * 1000;
const horizon = { streamMaxAgeMs: 30 * DAY, deadLettersMaxAgeMs: 45 * DAY, ackWaitMs: 30_000, duplicateWindowMs: 120_000 };

describe('retention ages', () => {
  it('a processed-event record outlives every way its event can come back: the longer of stream and dead-letter age, ack wait, duplicate window', () => {
    expect(processedEventsFloorMs(horizon)).toBe(45 * DAY + 30_000 + 120_000);
  });

  it('configured ages under their floors are raised; longer ones stay; venue fills and notifications have no floor', () => {
    expect(effectiveRetentionAges({ outbox: 0, processedEvents: DAY, venueFills: 0, notifications: 3 * DAY }, horizon)).toEqual({
      outbox: 120_000,
      processedEvents: 45 * DAY + 150_000,
      venueFills: 0,
      notifications: 3 * DAY,
    });
    expect(effectiveRetentionAges({ outbox: 7 * DAY, processedEvents: 90 * DAY, venueFills: DAY, notifications: DAY }, horizon)).toEqual({
      outbox: 7 * DAY,
      processedEvents: 90 * DAY,
      venueFills: DAY,
      notifications: DAY,
    });
  });
});
