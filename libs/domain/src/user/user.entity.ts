import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A caller known by its auth token's subject. Created on the subject's first call. */
@Entity({ tableName: 'app_user' })
export class User {
  /** The JWT `sub`. */
  @PrimaryKey({ type: 'text' })
  id: string;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  constructor(id: string) {
    if (!id) throw new Error('User id (token subject) is required');
    this.id = id;
  }
}
