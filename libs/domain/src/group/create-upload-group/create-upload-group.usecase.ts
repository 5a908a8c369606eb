import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, FieldProblem } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor, newUploadToken } from '../../identity/actor';
import { CreatedUpload, GenerateFileUploadUrlUseCase, PreparedUpload } from '../../upload/generate-file-upload-url/generate-file-upload-url.usecase';
import { UPLOAD_POLICY, UploadPolicy } from '../../upload/upload-policy';
import { UploadSessionRepository } from '../../upload/upload-session.repository';
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

/** Multipart files one POST /v1/groups may start (each a round trip to the store before the transaction). */
export const MAX_MULTIPART_FILES_PER_REQUEST = 50;
/** Parts one POST /v1/groups may plan (5 GiB in 8 MiB parts is 640); planned parts cost no rows, their URLs do cost signing. */
export const MAX_PARTS_PER_REQUEST = 10_000;

/**
 * POST /v1/groups: the group, every session of its `files` and all their upload instructions in one
 * transaction (the store's part, signing and multipart uploads, comes first, outside it). One invalid file
 * rejects the whole request; the 400 names each problem as `files[i].field`.
 */
@Injectable()
export class CreateUploadGroupUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly uploads: GenerateFileUploadUrlUseCase,
    private readonly sessions: UploadSessionRepository,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
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
    if (cmd.expiresInSeconds !== undefined && cmd.expiresInSeconds > this.policy.maxGroupExpirySeconds) {
      problems.push({ field: 'expiresInSeconds', message: `must not exceed ${this.policy.maxGroupExpirySeconds} (GROUP_MAX_EXPIRY_SECONDS)` });
    }
    if (files.length > totalFiles) problems.push({ field: 'files', message: `has ${files.length} files, more than totalFiles (${totalFiles})` });
    files.forEach((file, i) => {
      if (file.groupId !== undefined) problems.push({ field: `files[${i}].groupId`, message: 'must be absent: the files join the new group' });
      try {
        this.uploads.checkPolicy(file, actor);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        problems.push(
          ...(e.details ?? [{ field: '', message: e.message }]).map((d) => ({ field: `files[${i}]${d.field ? `.${d.field}` : ''}`, message: d.message })),
        );
      }
    });
    if (problems.length > 0) throw DomainError.invalid(problems);
    // Bounded work per request (issue 16, MEDIUM 4): each multipart file is a CreateMultipartUpload round trip to the
    // store and up to FIRST_PART_URLS signatures, all in this one request (part rows come later, as parts arrive).
    const work = files.reduce(
      (sum, f) => {
        const w = this.uploads.workOf(f);
        return { multipartUploads: sum.multipartUploads + w.multipartUploads, parts: sum.parts + w.parts };
      },
      { multipartUploads: 0, parts: 0 },
    );
    const later = 'create the group with totalFiles and add the large files with POST /v1/groups/:id/uploads';
    if (work.multipartUploads > MAX_MULTIPART_FILES_PER_REQUEST) {
      throw DomainError.invalid([
        { field: 'files', message: `would start ${work.multipartUploads} multipart uploads; at most ${MAX_MULTIPART_FILES_PER_REQUEST} per request: ${later}` },
      ]);
    }
    if (work.parts > MAX_PARTS_PER_REQUEST) {
      throw DomainError.invalid([{ field: 'files', message: `would plan ${work.parts} parts; at most ${MAX_PARTS_PER_REQUEST} per request: ${later}` }]);
    }

    const token = actor.userId === null ? newUploadToken() : null;
    const expiresAt = new Date(Date.now() + (cmd.expiresInSeconds ?? this.policy.groupExpirySeconds) * 1000);
    const group = new UploadGroup({
      name: cmd.name,
      description: cmd.description ?? null,
      totalFiles,
      expiresAt,
      userId: actor.userId,
      fileCount: files.length,
    });
    group.uploadTokenHash = token?.hash ?? null;
    const owner = { userId: group.userId, uploadTokenHash: group.uploadTokenHash };
    // The store's part first (URLs, multipart uploads), outside any transaction; then one transaction stores everything.
    const prepared: PreparedUpload[] = [];
    try {
      for (const file of files) prepared.push(await this.uploads.prepare({ ...file, groupId: group.id }, owner, actor));
    } catch (e) {
      await this.uploads.abandon(prepared);
      throw e;
    }
    let view: GroupView | undefined;
    await this.uploads.storeOrAbandon(prepared, () =>
      this.em.transactional(async (em) => {
        em.persist(group);
        await em.flush();
        await this.sessions.insertNew(prepared, em);
        [view] = await withBytes(em, [group]);
      }),
    );
    await this.uploads.copyDuplicates(prepared);
    return { view: view!, uploads: prepared.map((p) => ({ session: p.session, upload: p.upload })), ...(token ? { uploadToken: token.token } : {}) };
  }
}
