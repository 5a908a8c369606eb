import { BigIntType, Entity, Enum, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { PartStatus } from '@app/contracts';
import { UploadSession } from './upload-session.entity';

/** One part of a multipart upload, reconciled against what the store holds. */
@Entity({ tableName: 'file_part' })
@Unique({ properties: ['sessionId', 'partNumber'] })
export class FilePart {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => UploadSession, { mapToPk: true, fieldName: 'session_id', deleteRule: 'cascade' })
  sessionId: string;

  @Property({ type: 'integer' })
  partNumber: number;

  @Property({ type: 'text', nullable: true })
  etag: string | null = null;

  /** Expected size until uploaded, then the stored size. */
  @Property({ type: new BigIntType('number') })
  size: number;

  @Enum({ items: () => PartStatus })
  status: PartStatus = PartStatus.PENDING;

  @Property({ type: 'timestamptz', nullable: true })
  uploadedAt: Date | null = null;

  constructor(props: { sessionId: string; partNumber: number; size: number }) {
    if (!Number.isInteger(props.partNumber) || props.partNumber < 1 || props.partNumber > 10_000) throw new Error('FilePart.partNumber must be 1..10000');
    this.sessionId = props.sessionId;
    this.partNumber = props.partNumber;
    this.size = props.size;
  }
}
