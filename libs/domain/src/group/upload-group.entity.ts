import { Check, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { GroupStatus } from '@app/contracts';
import { User } from '../user/user.entity';

/** Several upload sessions forming one logical upload. Counters are only ever changed by atomic SQL. */
@Entity({ tableName: 'upload_group' })
@Index({ properties: ['userId', 'createdAt', 'id'] })
// Safety nets under the atomic SQL: a slot or a count too many fails its transaction instead of going unseen.
@Check({ name: 'upload_group_file_count_check', expression: 'file_count >= 0 and file_count <= total_files' })
@Check({ name: 'upload_group_counters_check', expression: 'completed_files >= 0 and failed_files >= 0 and completed_files + failed_files <= total_files' })
export class UploadGroup {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @ManyToOne(() => User, { mapToPk: true, nullable: true, fieldName: 'user_id', deleteRule: 'set null' })
  userId: string | null = null;

  @Enum({ items: () => GroupStatus })
  status: GroupStatus = GroupStatus.PENDING;

  @Property({ type: 'integer' })
  totalFiles: number;

  /**
   * Sessions created in the group so far (slots taken). Only ever moved by the conditional SQL of
   * UploadGroupSlots, which never lets it pass totalFiles.
   */
  @Property({ type: 'integer' })
  fileCount: number = 0;

  @Property({ type: 'integer' })
  completedFiles: number = 0;

  @Property({ type: 'integer' })
  failedFiles: number = 0;

  /**
   * Past it, a group still waiting for files (fewer than totalFiles added, or one still waiting for its bytes)
   * is ended by the reconciler: FAILED with error EXPIRED. No file is added after it.
   */
  @Property({ type: 'timestamptz' })
  expiresAt: Date;

  /** Why the group ended FAILED when its files are not the reason: EXPIRED. WARNING: persisted and published. */
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  /** SHA-256 of the anonymous caller's upload token; null for owned groups. */
  @Property({ type: 'text', nullable: true, hidden: true })
  uploadTokenHash: string | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  /**
   * `fileCount`: the sessions created together with the group, in its transaction. `expiresAt`: by default a
   * day from now (GROUP_EXPIRY_SECONDS's default); the gateway always passes its configured one.
   */
  constructor(props: { name: string; totalFiles: number; expiresAt?: Date; userId?: string | null; description?: string | null; fileCount?: number }) {
    if (!props.name) throw new Error('UploadGroup.name is required');
    if (!Number.isInteger(props.totalFiles) || props.totalFiles < 1) throw new Error('UploadGroup.totalFiles must be a positive integer');
    const fileCount = props.fileCount ?? 0;
    if (!Number.isInteger(fileCount) || fileCount < 0 || fileCount > props.totalFiles) throw new Error('UploadGroup.fileCount must be 0..totalFiles');
    const expiresAt = props.expiresAt ?? new Date(Date.now() + 86_400_000);
    if (Number.isNaN(expiresAt.getTime())) throw new Error('UploadGroup.expiresAt must be a valid date');
    this.name = props.name;
    this.expiresAt = expiresAt;
    this.totalFiles = props.totalFiles;
    this.fileCount = fileCount;
    this.userId = props.userId ?? null;
    this.description = props.description ?? null;
  }
}
