import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A caller known by its auth token's subject. Created on the subject's first call. */
@Entity({ tableName: 'app_user' })
export class User {
  /** The JWT `sub`. */
  @PrimaryKey({ type: 'text' })
  id: string;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  /**
   * Sum of the declared sizes this user's sessions hold against the storage quota: added when a session is
   * created, given back once when it becomes FAILED or DELETED. Written only with atomic SQL (StorageQuota).
   */
  @Property({ type: new BigIntType('number'), default: 0 })
  reservedBytes: number = 0;

  constructor(id: string) {
    if (!id) throw new Error('User id (token subject) is required');
    this.id = id;
  }
}
