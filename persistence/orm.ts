/**
 * MikroORM on PostgreSQL: configuration, database creation and migrations.
 * Schema changes happen only through migrations, run programmatically at start under
 * an advisory lock (never schema sync).
 *
 * The database holds schema modules: the core (./migrations, the entities of every
 * persistence module) and plug-ins that bring tables of their own (the simulated
 * venue). Each module has its own entities, its own migration list and its own
 * migrations table, so a plug-in's schema history never mixes with the core's; an
 * ORM instance maps one module's entities.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { Lifecycle } from '../runtime/lifecycle';
import { accountEntities } from './accounts/entities';
import { breakerEntities } from './breakers/entities';
import { ledgerEntities } from './ledger/entities';
import { migrations } from './migrations';
import { orderEntities } from './orders/entities';
import { outboxEntities } from './outbox/entities';
import { referenceEntities } from './reference/entities';
import { subscriberStateEntities } from './subscriber-state/entities';

export type Orm = MikroORM;

export interface SchemaModule {
  name: string;
  entities: NonNullable<Options['entities']>;
  migrations: MigrationObject[];
  /** Where the module's applied migrations are recorded. */
  migrationsTable: string;
}

export const CORE_SCHEMA: SchemaModule = {
  name: 'core',
  entities: [...referenceEntities, ...accountEntities, ...ledgerEntities, ...orderEntities, ...outboxEntities, ...subscriberStateEntities, ...breakerEntities],
  migrations,
  migrationsTable: 'mikro_orm_migrations',
};

export function ormOptions(databaseUrl: string, overrides: Partial<Options> = {}, schema: SchemaModule = CORE_SCHEMA): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: [...schema.entities],
    extensions: [Migrator],
    migrations: {
      migrationsList: schema.migrations,
      tableName: schema.migrationsTable,
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

export async function initOrm(databaseUrl: string, overrides: Partial<Options> = {}, schema: SchemaModule = CORE_SCHEMA): Promise<Orm> {
  return MikroORM.init(ormOptions(databaseUrl, overrides, schema));
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

/** One lock for every module's migrations: schema changes never run side by side. */
const MIGRATION_LOCK = 74_221_001;

/** Applies the ORM's module's pending migrations; concurrent callers wait on an advisory lock. Returns their names. */
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

/** The one-call boot path of the core: database, ORM, migrations. */
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
    const table = orm.config.get('migrations').tableName;
    throw new Error(`database has ${pending.length} pending migration(s) in ${table} (${pending.map((m) => m.name).join(', ')}): run npm run migrate`);
  }
}

/** A process's database (a module's ORM): connected, closed at shutdown, refusing to run on pending migrations. */
export async function openDatabase(databaseUrl: string, lifecycle: Lifecycle, schema: SchemaModule = CORE_SCHEMA): Promise<Orm> {
  const orm = await initOrm(databaseUrl, {}, schema);
  lifecycle.onShutdown(`database (${schema.name})`, () => orm.close());
  await assertMigrated(orm);
  return orm;
}
