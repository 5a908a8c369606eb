import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from './orm-config';

/** Brings the database named by DATABASE_URL up to the latest migration (creating the database if missing). */
export async function migrate(url: string): Promise<string[]> {
  await ensureDatabase(url);
  const orm = await MikroORM.init(ormConfig(url, { poolMax: 2 }));
  try {
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const orm = await MikroORM.init({ ...ormConfig(admin.toString(), { poolMax: 1 }), entities: [], discovery: { warnWhenNoEntities: false } });
  try {
    const rows = await orm.em.getConnection().execute('select 1 from pg_database where datname = ?', [name]);
    if (rows.length === 0) await orm.em.getConnection().execute(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await orm.close(true);
  }
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set');
    process.exit(2);
  }
  migrate(url)
    .then((applied) => console.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database is up to date'))
    .catch((e: unknown) => {
      console.error('migration failed:', e instanceof Error ? e.message : e);
      process.exit(1);
    });
}
