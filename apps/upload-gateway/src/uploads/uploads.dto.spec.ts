import 'reflect-metadata';
// @nestjs/swagger's metadata key of a class's documented properties (DECORATORS.API_MODEL_PROPERTIES_ARRAY).
const API_MODEL_PROPERTIES_ARRAY = 'swagger/apiModelPropertiesArray';
import { getMetadataStorage } from 'class-validator';
import {
  CheckedFile,
  CheckUploadsCommand,
  CompletedPartInput,
  CreateUploadGroupCommand,
  GenerateFileUploadUrlCommand,
  JobRequestInput,
  AbortUploadCommand,
  CompleteUploadCommand,
  SignUploadPartsCommand,
} from '@app/domain';
import { AbortUploadBody, CheckedFileBody, CheckUploadsBody, CompletedPartBody, CompleteUploadBody, CreateGroupBody, CreateUploadBody, JobRequestBody, SignPartsBody } from './uploads.dto';

type Cls = new () => object;

/** The fields a domain command validates (class-validator metadata): what the API really accepts. */
function validated(cls: Cls): string[] {
  return [...new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).map((m) => m.propertyName))].sort();
}

/** The fields the OpenAPI shape documents (@ApiProperty metadata). */
function documented(cls: Cls): string[] {
  const names: string[] = Reflect.getMetadata(API_MODEL_PROPERTIES_ARRAY, cls.prototype) ?? [];
  return [...new Set(names.map((n) => n.replace(/^:/, '')))].sort();
}

/**
 * The domain's commands stay free of swagger; the gateway documents them with its own classes. This table
 * fails when a command gains, loses or renames a field the documentation does not follow.
 */
describe('OpenAPI request bodies describe exactly the fields the domain commands accept', () => {
  it.each<[string, Cls, Cls]>([
    ['POST /v1/uploads', GenerateFileUploadUrlCommand, CreateUploadBody],
    ['jobs[]', JobRequestInput, JobRequestBody],
    // POST /v1/uploads/:id/jobs: AddJobCommand extends JobRequestInput.
    ['POST /v1/uploads/:id/parts', SignUploadPartsCommand, SignPartsBody],
    ['POST /v1/uploads/:id/complete', CompleteUploadCommand, CompleteUploadBody],
    ['parts[]', CompletedPartInput, CompletedPartBody],
    ['POST /v1/uploads/:id/abort', AbortUploadCommand, AbortUploadBody],
    ['POST /v1/groups', CreateUploadGroupCommand, CreateGroupBody],
    ['POST /v1/uploads/check', CheckUploadsCommand, CheckUploadsBody],
    ['files[]', CheckedFile, CheckedFileBody],
  ])('%s', (_route, command, body) => {
    expect(documented(body)).toEqual(validated(command));
  });
});
