import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  AbortUploadUseCase,
  Actor,
  CompleteUploadUseCase,
  DomainError,
  DomainErrorCode,
  ListUploadPartsUseCase,
  OBJECT_STORAGE,
  ObjectStorage,
  SessionRef,
  SignUploadPartsUseCase,
  StartCompanionUploadUseCase,
  UPLOAD_POLICY,
  UploadPolicy,
} from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { PageTokens } from '../identity/page-tokens';
import { CreatesResources, perUrlsOf, WeighsWork } from '../rate-limit/rate-limit.guard';

const KEY_MESSAGE = 'the object key must be passed as a query parameter, e.g. "?key=abc.jpg"';
const PART_NUMBER = /^[1-9]\d{0,4}$/;

function keyOf(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw DomainError.invalid([{ field: 'key', message: KEY_MESSAGE }]);
  return key;
}

function partNumberOf(raw: string, field: string): number {
  const n = PART_NUMBER.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 10_000)) throw DomainError.invalid([{ field, message: 'must be a number between 1 and 10000' }]);
  return n;
}

/** Uppy sends `metadata[name]=value` query pairs (or an object when the query parser nests them). */
function metadataOf(query: Record<string, unknown>): Record<string, unknown> {
  const nested = query.metadata;
  const out: Record<string, unknown> =
    nested !== null && typeof nested === 'object' && !Array.isArray(nested) ? { ...(nested as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(query)) {
    const m = /^metadata\[(.+)\]$/.exec(k);
    if (m) out[m[1]] = v;
  }
  return out;
}

/**
 * Companion's S3 contract, as Uppy's `@uppy/aws-s3` plugin calls it when its `companionEndpoint` is this
 * gateway: same paths, request and response shapes and status codes as Companion's s3 controller. Each
 * route creates or advances an upload session through the same use cases as /v1/uploads, so an Uppy
 * upload is tracked, processed and evented like any other, under the same ownership rules.
 */
@Controller('s3')
export class S3CompanionController {
  constructor(
    private readonly startCompanionUpload: StartCompanionUploadUseCase,
    private readonly signUploadParts: SignUploadPartsUseCase,
    private readonly listUploadParts: ListUploadPartsUseCase,
    private readonly completeUpload: CompleteUploadUseCase,
    private readonly abortUpload: AbortUploadUseCase,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
    private readonly pageTokens: PageTokens,
  ) {}

  /**
   * An anonymous Uppy page binds its sessions to the upload token it presents: only one this gateway issued (the
   * /demo page's cookie), never one the client chose, so nobody can fix a victim's token in advance (issue 16).
   */
  private assertIssuedToken(actor: Actor): void {
    if (actor.userId !== null || actor.isAdmin || this.pageTokens.isIssued(actor.uploadToken)) return;
    throw new DomainError(
      DomainErrorCode.UNAUTHENTICATED,
      'Anonymous Uppy uploads need an upload token this gateway issued (the upload-token cookie the /demo page sets), or Authorization: Bearer <JWT>',
    );
  }

  /** One-request upload: a POST-policy form. Query: filename, type, metadata[...]. */
  @Get('params')
  // Creates a session although it is a GET: counted as a write by the rate limit.
  @CreatesResources()
  async params(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>) {
    this.assertIssuedToken(actor);
    const started = await this.startCompanionUpload.execute(actor, { filename: query.filename, type: query.type, metadata: metadataOf(query) }, 'SINGLE');
    if (started.strategy !== 'SINGLE') throw new Error('expected a single upload');
    return { method: 'POST', url: started.post.url, fields: started.post.fields, expires: this.policy.presignedUrlTtlSeconds };
  }

  /** Body: { filename, type, metadata }. */
  @Post('multipart')
  @HttpCode(200)
  async createMultipart(@CurrentActor() actor: Actor, @Body() body: Record<string, unknown> | undefined) {
    this.assertIssuedToken(actor);
    const { filename, type, metadata } = body ?? {};
    const started = await this.startCompanionUpload.execute(actor, { filename, type, ...(metadata === undefined ? {} : { metadata }) }, 'MULTIPART');
    if (started.strategy !== 'MULTIPART') throw new Error('expected a multipart upload');
    return { key: started.session.objectKey, uploadId: started.uploadId, bucket: started.session.bucket };
  }

  /** The parts the store holds, as S3 lists them (quoted ETags). */
  @Get('multipart/:uploadId')
  async listParts(@CurrentActor() actor: Actor, @Param('uploadId') uploadId: string, @Query('key') key: unknown) {
    const listed = await this.listUploadParts.execute(actor, this.ref(uploadId, key));
    return listed.parts.map((p) => ({ PartNumber: p.partNumber, LastModified: p.lastModified, ETag: `"${p.etag}"`, Size: p.size }));
  }

  /** Query: key, partNumbers=1,2,3 → { presignedUrls: { "1": url, ... } }. */
  @Get('multipart/:uploadId/batch')
  @WeighsWork(perUrlsOf('partNumbers'))
  async signBatch(@CurrentActor() actor: Actor, @Param('uploadId') uploadId: string, @Query('key') key: unknown, @Query('partNumbers') partNumbers: unknown) {
    const ref = this.ref(uploadId, key);
    if (typeof partNumbers !== 'string') {
      throw DomainError.invalid([{ field: 'partNumbers', message: 'must be passed as a comma separated query parameter, e.g. "?partNumbers=4,6,7,21"' }]);
    }
    const numbers = partNumbers.split(',').map((n) => partNumberOf(n.trim(), 'partNumbers'));
    const signed = await this.signUploadParts.execute(actor, ref, { partNumbers: [...new Set(numbers)] });
    const presignedUrls: Record<string, string> = Object.create(null);
    for (const p of signed.parts) presignedUrls[String(p.partNumber)] = p.url;
    return { presignedUrls };
  }

  @Get('multipart/:uploadId/:partNumber')
  async signPart(@CurrentActor() actor: Actor, @Param('uploadId') uploadId: string, @Param('partNumber') partNumber: string, @Query('key') key: unknown) {
    const ref = this.ref(uploadId, key);
    const signed = await this.signUploadParts.execute(actor, ref, { partNumbers: [partNumberOf(partNumber, 'partNumber')] });
    return { url: signed.parts[0].url, expires: this.policy.presignedUrlTtlSeconds };
  }

  /** Body: { parts: [{ PartNumber, ETag }] } → { location, key, bucket }. */
  @Post('multipart/:uploadId/complete')
  @HttpCode(200)
  async complete(
    @CurrentActor() actor: Actor,
    @Param('uploadId') uploadId: string,
    @Query('key') key: unknown,
    @Body() body: Record<string, unknown> | undefined,
  ) {
    const ref = this.ref(uploadId, key);
    const parts = body?.parts;
    const valid =
      Array.isArray(parts) &&
      parts.every(
        (p: unknown) =>
          p !== null &&
          typeof p === 'object' &&
          typeof (p as { PartNumber?: unknown }).PartNumber === 'number' &&
          typeof (p as { ETag?: unknown }).ETag === 'string',
      );
    if (!valid) throw DomainError.invalid([{ field: 'parts', message: 'must be an array of {ETag, PartNumber} objects' }]);
    const session = await this.completeUpload.execute(actor, ref, {
      parts: (parts as { PartNumber: number; ETag: string }[]).map((p) => ({ partNumber: p.PartNumber, etag: p.ETag })),
    });
    return { location: this.storage.publicUrl(session.objectKey), key: session.objectKey, bucket: session.bucket };
  }

  @Delete('multipart/:uploadId')
  async abort(@CurrentActor() actor: Actor, @Param('uploadId') uploadId: string, @Query('key') key: unknown) {
    await this.abortUpload.execute(actor, this.ref(uploadId, key), {});
    return {};
  }

  private ref(uploadId: string, key: unknown): SessionRef {
    return { uploadId, key: keyOf(key) };
  }
}
