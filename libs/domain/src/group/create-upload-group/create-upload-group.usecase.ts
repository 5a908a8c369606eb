import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, FieldProblem } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor, newUploadToken } from '../../identity/actor';
import { CreatedUpload, GenerateFileUploadUrlUseCase } from '../../upload/generate-file-upload-url/generate-file-upload-url.usecase';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { UPLOAD_POLICY, UploadPolicy } from '../../upload/upload-policy';
import { GroupView, withBytes } from '../group-view';
import { UploadGroup } from '../upload-group.entity';
import { CreateUploadGroupCommand } from './create-upload-group.command';

export interface CreatedGroup {
  view: GroupView;
  uploads: CreatedUpload[];
  /**
   * For anonymous callers only, shown once: the X-Upload-Token of the group AND of every session in it
   * (those created now and those added later), so a client keeps one token per group.
   */
  uploadToken?: string;
}

/**
 * POST /v1/groups: the group, every session of its `files` and all their upload instructions in one
 * transaction. One invalid file rejects the whole request; the 400 names each problem as `files[i].field`.
 */
@Injectable()
export class CreateUploadGroupUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly uploads: GenerateFileUploadUrlUseCase,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(actor: Actor, input: unknown): Promise<CreatedGroup> {
    const max = this.policy.maxFilesPerGroup;
    // Before validating each file: a list far above the limit is refused without the work.
    const rawFiles = (input as { files?: unknown } | null)?.files;
    if (Array.isArray(rawFiles) && rawFiles.length > max) {
      throw DomainError.invalid([{ field: 'files', message: `at most ${max} files per group (MAX_FILES_PER_GROUP); got ${rawFiles.length}` }]);
    }
    const cmd = validateCommand(CreateUploadGroupCommand, input);
    this.uploads.checkCaller(actor);

    const files = cmd.files ?? [];
    const totalFiles = cmd.totalFiles ?? files.length;
    const problems: FieldProblem[] = [];
    if (cmd.totalFiles === undefined && files.length === 0) {
      problems.push({ field: 'totalFiles', message: 'must be given (at least 1) when no files are sent' });
    }
    if (totalFiles > max) problems.push({ field: 'totalFiles', message: `must not exceed ${max} (MAX_FILES_PER_GROUP)` });
    if (files.length > totalFiles) problems.push({ field: 'files', message: `has ${files.length} files, more than totalFiles (${totalFiles})` });
    files.forEach((file, i) => {
      if (file.groupId !== undefined) problems.push({ field: `files[${i}].groupId`, message: 'must be absent: the files join the new group' });
      try {
        this.uploads.checkPolicy(file);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        problems.push(...(e.details ?? [{ field: '', message: e.message }]).map((d) => ({ field: `files[${i}]${d.field ? `.${d.field}` : ''}`, message: d.message })));
      }
    });
    if (problems.length > 0) throw DomainError.invalid(problems);

    const token = actor.userId === null ? newUploadToken() : null;
    const started: { key: string; uploadId: string }[] = [];
    return this.em.transactional(async (em) => {
      const group = new UploadGroup({ name: cmd.name, description: cmd.description ?? null, totalFiles, userId: actor.userId, fileCount: files.length });
      group.uploadTokenHash = token?.hash ?? null;
      em.persist(group);
      const uploads: CreatedUpload[] = [];
      for (const file of files) {
        uploads.push(await this.uploads.prepare(em, { ...file, groupId: group.id }, { userId: group.userId, uploadTokenHash: group.uploadTokenHash }, started));
      }
      await em.flush();
      const [view] = await withBytes(em, [group]);
      return { view, uploads, ...(token ? { uploadToken: token.token } : {}) };
    }).catch(async (e: unknown) => {
      // Nothing was recorded: leave no multipart upload behind in the store either.
      await Promise.all(started.map((m) => this.storage.abortMultipartUpload(m.key, m.uploadId).catch(() => undefined)));
      throw e;
    });
  }
}
