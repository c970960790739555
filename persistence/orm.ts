/**
 * MikroORM on PostgreSQL: configuration, database creation and migrations.
 * Schema changes happen only through the migrations in ./migrations, run
 * programmatically at start under an advisory lock (never schema sync).
 */
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { coreEntities } from './entities';
import type { Lifecycle } from '../runtime/lifecycle';
import { migrations } from './migrations';

export type Orm = MikroORM;

export function ormOptions(databaseUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: [...coreEntities],
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    discovery: { disableDynamicFileAccess: true, warnWhenNoEntities: false },
    // One EntityManager fork per request and per activity; the global one is off limits.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    pool: { min: 0, max: 10 },
    debug: false,
    ...overrides,
  });
}

export async function initOrm(databaseUrl: string, overrides: Partial<Options> = {}): Promise<Orm> {
  return MikroORM.init(ormOptions(databaseUrl, overrides));
}

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  return name;
}

function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

/** Creates the database in DATABASE_URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  const client = new Client({ connectionString: maintenanceUrl(databaseUrl) });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`create database "${name}"`);
      } catch (err) {
        // 42P04: created by a concurrent starter in the meantime
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  const client = new Client({ connectionString: maintenanceUrl(databaseUrl) });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

const MIGRATION_LOCK = 74_221_001;

/** Applies pending migrations; concurrent callers wait on an advisory lock. Returns their names. */
export async function migrate(orm: Orm): Promise<string[]> {
  const conn = orm.em.getConnection();
  const knex = conn.getKnex();
  // Hold the lock on one dedicated connection for the whole run.
  const lockConn = await knex.client.acquireConnection();
  try {
    await lockConn.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await lockConn.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await knex.client.releaseConnection(lockConn);
  }
}

/** The one-call boot path: database, ORM, migrations. */
export async function connectDatabase(databaseUrl: string, overrides: Partial<Options> = {}): Promise<Orm> {
  await ensureDatabase(databaseUrl);
  const orm = await initOrm(databaseUrl, overrides);
  await migrate(orm);
  return orm;
}

/** Fails fast when the database lacks migrations this code needs (run `npm run migrate`). */
export async function assertMigrated(orm: Orm): Promise<void> {
  const pending = await orm.getMigrator().getPendingMigrations();
  if (pending.length > 0) {
    throw new Error(`database has ${pending.length} pending migration(s) (${pending.map((m) => m.name).join(', ')}): run npm run migrate`);
  }
}

/** A process's database: connected, closed at shutdown, refusing to run on pending migrations. */
export async function openDatabase(databaseUrl: string, lifecycle: Lifecycle): Promise<Orm> {
  const orm = await initOrm(databaseUrl);
  lifecycle.onShutdown('database', () => orm.close());
  await assertMigrated(orm);
  return orm;
}
