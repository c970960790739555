/**
 * Running orders survive the deploy that made the order steps local activities: orders
 * placed by the released workflow (every step a regular activity) are finished by the
 * current workflow code on the same task queue — filled, cancelled and expired — and
 * keep the old path (no local-activity patch marker, regular activities only) to the
 * end, with the ledger and the events exact.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { orderWorkflowId } from '../../workflows/order/definitions';
import { LOCAL_STEPS_PATCH } from '../../workflows/order/workflow';
import { balances, expectLedgerInvariants, finalOrder, fundedAccount, hasStatus, newInstrument, place, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

let bundleDir: string;
let legacyBundle: string;

beforeAll(async () => {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../support/legacy'), logger: new DefaultLogger('WARN') });
  bundleDir = mkdtempSync(join(tmpdir(), 'oms-legacy-'));
  legacyBundle = join(bundleDir, 'workflow-bundle.js');
  writeFileSync(legacyBundle, code);
});
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

/** What the order's history shows of the two paths. */
async function pathOf(h: Harness, orderId: string): Promise<{ patched: boolean; regularActivities: number; localActivities: number }> {
  const { events } = await h.client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  const markers = (events ?? []).map((e) => e.markerRecordedEventAttributes).filter((m) => m != null);
  const patchIds = markers.filter((m) => m.markerName === 'core_patch').map((m) => JSON.stringify(m.details ?? {}));
  return {
    patched: patchIds.some((d) => d.includes(Buffer.from(JSON.stringify(LOCAL_STEPS_PATCH)).toString('base64'))),
    regularActivities: (events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: markers.filter((m) => m.markerName === 'core_local_activity').length,
  };
}

describe('upgrade: orders placed by the released workflow finish on the current one', () => {
  it('fills, cancels and expires orders the old code placed', async () => {
    const old = await startHarness({ workflowBundlePath: legacyBundle });
    let symbol: string, base: string, account: string;
    let toFill: string, toCancel: string, toExpire: string;
    try {
      ({ symbol, base } = await newInstrument(old));
      account = await fundedAccount(old, { USD: '1000' });
      toFill = (await place(old, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' })).orderId;
      toCancel = (await place(old, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '90' })).orderId;
      const expireAt = new Date(Date.now() + 4_000).toISOString();
      toExpire = (await place(old, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '80', timeInForce: 'GTD', expireAt })).orderId;
      for (const id of [toFill, toCancel, toExpire]) expect((await waitForOrder(old, id, hasStatus('ACCEPTED'))).status).toBe('ACCEPTED');
    } finally {
      await old.close();
    }

    // The deploy: the same task queue, now served by the current workflow code.
    const current = await startHarness({ taskQueue: old.taskQueue });
    try {
      await tick(current, symbol, '100', '1'); // crosses only the 100 bid
      expect((await waitForOrder(current, toFill, hasStatus('FILLED'))).filledQuantity).toBe('1');
      expect((await current.orders.cancel(toCancel, 'upgrade test', null)).outcome).toBe('CANCELLED');
      expect((await finalOrder(current, toExpire)).status).toBe('EXPIRED');
      expect(await balances(current, account)).toEqual({ USD: { available: '900', locked: '0' }, [base]: { available: '1', locked: '0' } });
      for (const id of [toFill, toCancel, toExpire]) {
        const path = await pathOf(current, id);
        expect(path).toMatchObject({ patched: false, localActivities: 0 });
        expect(path.regularActivities).toBeGreaterThanOrEqual(6);
      }
      await expectLedgerInvariants(current, account);

      // A new order on the current code takes the new path.
      const fresh = await place(current, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '70' });
      await current.orders.cancel(fresh.orderId, null, null);
      expect(await pathOf(current, fresh.orderId)).toMatchObject({ patched: true, regularActivities: 1 }); // the venue cancel stays regular
    } finally {
      await current.close();
    }
  });
});
