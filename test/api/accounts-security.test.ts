/**
 * Keys and accounts: no production start with the public operator key; keys from the
 * environment never printed or logged; SUSPENDED and CLOSED accounts can read but not
 * place orders, withdraw or register webhooks (403, nothing changed); account keys
 * rotated with a grace period and revoked; self-deposits off in production.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, DEVELOPMENT_OPERATOR_KEY, loadConfig } from '../../config';
import { createLogger } from '../../runtime/logger';
import { startBanner } from '../../scripts/banner';
import { startApi, type Api } from '../support/api';
import { startHarness, type Harness } from '../support/harness';

let h: Harness;
let api: Api;
let prodApi: Api;

beforeAll(async () => {
  h = await startHarness();
  api = await startApi(h);
  prodApi = await startApi(h, undefined, { NODE_ENV: 'production' });
});
afterAll(async () => {
  await prodApi?.close();
  await api?.close();
  await h?.close();
});

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

async function fundedAccount(usd = '1000'): Promise<{ id: string; apiKey: string }> {
  const account = (await api.request('POST', '/accounts', { body: { name: 'sec' } })).body;
  expect((await api.request('POST', `/accounts/${account.id}/deposits`, { body: { asset: 'USD', amount: usd, reference: 'seed' } })).status).toBe(201);
  return account;
}

describe('the operator key', () => {
  it('production refuses to start with the development default, naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/OPERATOR_API_KEY: must be set in production/);
    expect(() => loadConfig({ NODE_ENV: 'production', OPERATOR_API_KEY: DEVELOPMENT_OPERATOR_KEY })).toThrow(/OPERATOR_API_KEY/);
    expect(loadConfig({ NODE_ENV: 'production', OPERATOR_API_KEY: 'a-real-secret-0123456789' }).OPERATOR_API_KEY).toBe('a-real-secret-0123456789');
    expect(loadConfig({}).OPERATOR_API_KEY).toBe(DEVELOPMENT_OPERATOR_KEY);
  });

  it('a key from the environment is never printed by npm start, nor logged', () => {
    const secret = 'env-secret-key-0123456789';
    const base = { HOST: '127.0.0.1', PORT: 3000, TEMPORAL_UI_PORT: 8233 };
    expect(startBanner({ ...base, OPERATOR_API_KEY: secret })).not.toContain(secret);
    expect(startBanner({ ...base, OPERATOR_API_KEY: DEVELOPMENT_OPERATOR_KEY })).toContain(DEVELOPMENT_OPERATOR_KEY);

    const lines: string[] = [];
    const logger = createLogger('t', 'info', { write: (s: string) => void lines.push(s) });
    logger.info({ config: { OPERATOR_API_KEY: secret }, OPERATOR_API_KEY: secret, account: { apiKey: secret } }, 'boot');
    expect(lines).toHaveLength(1);
    expect(lines.join('')).not.toContain(secret);
  });
});

describe('account status', () => {
  it('a SUSPENDED or CLOSED account reads but places no order, withdraws nothing, registers no webhook; nothing changes', async () => {
    for (const status of ['SUSPENDED', 'CLOSED']) {
      const a = await fundedAccount();
      const path = `/accounts/${a.id}`;
      expectProblem(await api.request('PUT', `${path}/status`, { key: a.apiKey, body: { status: 'ACTIVE' } }), 403);
      expectProblem(await api.request('PUT', `${path}/status`, { body: { status: 'FROZEN' } }), 400, 'status');
      const set = await api.request('PUT', `${path}/status`, { body: { status } });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({ id: a.id, status });

      const order = { clientOrderId: `o-${status}`, accountId: a.id, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '0.1', limitPrice: '100' };
      for (const key of [a.apiKey, undefined]) {
        expectProblem(await api.request('POST', '/orders', { key, body: order }), 403);
        expectProblem(await api.request('POST', `${path}/withdrawals`, { key, body: { asset: 'USD', amount: '1', reference: `w-${status}` } }), 403);
        expectProblem(await api.request('POST', `${path}/webhooks`, { key, body: { url: 'https://hooks.example.com/x' } }), 403);
      }
      // Reads still work, and nothing changed.
      const view = await api.request('GET', path, { key: a.apiKey });
      expect(view.status).toBe(200);
      expect(view.body.balances).toEqual([{ asset: 'USD', available: '1000', locked: '0' }]);
      expect((await api.request('GET', `${path}/ledger`, { key: a.apiKey })).body.entries).toHaveLength(1);
      expect((await api.request('GET', `/orders?accountId=${a.id}`, { key: a.apiKey })).body.orders).toEqual([]);
      expect((await api.request('GET', `${path}/webhooks`, { key: a.apiKey })).body.webhooks).toEqual([]);
      expect((await api.request('GET', `${path}/notifications`, { key: a.apiKey })).status).toBe(200);

      // Active again: the same withdrawal goes through.
      expect((await api.request('PUT', `${path}/status`, { body: { status: 'ACTIVE' } })).status).toBe(200);
      expect((await api.request('POST', `${path}/withdrawals`, { key: a.apiKey, body: { asset: 'USD', amount: '1', reference: `w-${status}` } })).status).toBe(201);
    }
  });
});

describe('API keys', () => {
  it('rotation: the new key works at once, the old ones until the grace period ends; revoked keys stop at once', async () => {
    const a = await fundedAccount();
    const other = await fundedAccount();
    const keys = `/accounts/${a.id}/keys`;
    const whoami = (key: string) => api.request('GET', `/accounts/${a.id}`, { key }).then((r) => r.status);

    expectProblem(await api.request('POST', keys, { key: other.apiKey, body: {} }), 403);
    expectProblem(await api.request('POST', keys, { key: a.apiKey, body: { graceSeconds: -1 } }), 400, 'graceSeconds');
    expectProblem(await api.request('POST', keys, { key: a.apiKey, body: { graceSeconds: '60' } }), 400, 'graceSeconds');

    const second = await api.request('POST', keys, { key: a.apiKey, body: { graceSeconds: 3600 } });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ id: expect.any(String), apiKey: expect.stringMatching(/^oms_/), active: true, expiresAt: null, previousKeysExpireAt: expect.any(String) });
    expect(await whoami(a.apiKey)).toBe(200);
    expect(await whoami(second.body.apiKey)).toBe(200);
    const listed = (await api.request('GET', keys, { key: second.body.apiKey })).body.keys;
    expect(listed).toHaveLength(2);
    expect(listed[0]).toEqual({ id: second.body.id, createdAt: expect.any(String), expiresAt: null, revokedAt: null, active: true });
    expect(listed[1]).toMatchObject({ active: true, expiresAt: second.body.previousKeysExpireAt, revokedAt: null });
    expect(JSON.stringify(listed)).not.toMatch(/oms_|hash/i);

    // A rotation with no grace ends every older key now.
    const third = await api.request('POST', keys, { key: second.body.apiKey, body: { graceSeconds: 0 } });
    expect(third.status).toBe(201);
    expect(await whoami(a.apiKey)).toBe(401);
    expect(await whoami(second.body.apiKey)).toBe(401);
    expect(await whoami(third.body.apiKey)).toBe(200);

    // Revocation: at once; an unknown or already revoked key is a 404.
    const fourth = (await api.request('POST', keys, { key: third.body.apiKey, body: { graceSeconds: 3600 } })).body;
    expect((await api.request('DELETE', `${keys}/${third.body.id}`, { key: fourth.apiKey })).status).toBe(204);
    expect(await whoami(third.body.apiKey)).toBe(401);
    expect(await whoami(fourth.apiKey)).toBe(200);
    expectProblem(await api.request('DELETE', `${keys}/${third.body.id}`, { key: fourth.apiKey }), 404);
    expectProblem(await api.request('DELETE', `${keys}/not-a-uuid`, { key: fourth.apiKey }), 400);
    expectProblem(await api.request('DELETE', `/accounts/${other.id}/keys/${fourth.id}`, { key: fourth.apiKey }), 403);
    // The operator can revoke the last one too.
    expect((await api.request('DELETE', `${keys}/${fourth.id}`)).status).toBe(204);
    expect(await whoami(fourth.apiKey)).toBe(401);
  });
});

describe('deposits in production', () => {
  it("an account's own key cannot credit a deposit; the operator can", async () => {
    const a = await fundedAccount('5');
    const path = `/accounts/${a.id}/deposits`;
    expectProblem(await prodApi.request('POST', path, { key: a.apiKey, body: { asset: 'USD', amount: '100', reference: 'self' } }), 403);
    expect((await prodApi.request('GET', `/accounts/${a.id}`, { key: a.apiKey })).body.balances).toEqual([{ asset: 'USD', available: '5', locked: '0' }]);
    expect((await prodApi.request('POST', path, { body: { asset: 'USD', amount: '100', reference: 'op' } })).status).toBe(201);
    // Outside production the account's key still may (a development convenience).
    expect((await api.request('POST', path, { key: a.apiKey, body: { asset: 'USD', amount: '1', reference: 'dev' } })).status).toBe(201);
  });
});
