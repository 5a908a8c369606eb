import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261128011619 } from './Migration20261128011619';
import { Migration20261128020000 } from './Migration20261128020000';
import { Migration20261128020100 } from './Migration20261128020100';
import { Migration20261128021500 } from './Migration20261128021500';
import { Migration20261128030000 } from './Migration20261128030000';
import { Migration20261201140000 } from './Migration20261201140000';
import { Migration20261201150000 } from './Migration20261201150000';
import { Migration20261201160000 } from './Migration20261201160000';
import { Migration20261201170000 } from './Migration20261201170000';
import { Migration20261201190000 } from './Migration20261201190000';
import { Migration20261201191000 } from './Migration20261201191000';
import { Migration20261201192000 } from './Migration20261201192000';
import { Migration20261201193000 } from './Migration20261201193000';
import { Migration20261201200000 } from './Migration20261201200000';
import { Migration20261202060000 } from './Migration20261202060000';

/** Every migration, in order. Add new ones at the end. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261128011619', class: Migration20261128011619 },
  { name: 'Migration20261128020000', class: Migration20261128020000 },
  { name: 'Migration20261128020100', class: Migration20261128020100 },
  { name: 'Migration20261128021500', class: Migration20261128021500 },
  { name: 'Migration20261128030000', class: Migration20261128030000 },
  { name: 'Migration20261201140000', class: Migration20261201140000 },
  { name: 'Migration20261201150000', class: Migration20261201150000 },
  { name: 'Migration20261201160000', class: Migration20261201160000 },
  { name: 'Migration20261201170000', class: Migration20261201170000 },
  { name: 'Migration20261201190000', class: Migration20261201190000 },
  { name: 'Migration20261201191000', class: Migration20261201191000 },
  { name: 'Migration20261201192000', class: Migration20261201192000 },
  { name: 'Migration20261201193000', class: Migration20261201193000 },
  { name: 'Migration20261201200000', class: Migration20261201200000 },
  { name: 'Migration20261202060000', class: Migration20261202060000 },
];
