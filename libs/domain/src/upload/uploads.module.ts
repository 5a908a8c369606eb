import { DynamicModule, Module } from '@nestjs/common';
import { GenerateFileUploadUrlUseCase } from './generate-file-upload-url/generate-file-upload-url.usecase';
import { GetUploadUseCase } from './get-upload/get-upload.usecase';
import { ListUploadsUseCase } from './list-uploads/list-uploads.usecase';
import { UPLOAD_POLICY, UploadPolicy } from './upload-policy';
import { StorageQuota } from '../user/storage-quota';
import { UserDirectory } from '../user/user-directory';

/** Use cases of the public upload API. */
@Module({})
export class UploadsModule {
  static forRoot(policy: UploadPolicy): DynamicModule {
    const useCases = [GenerateFileUploadUrlUseCase, GetUploadUseCase, ListUploadsUseCase, UserDirectory, StorageQuota];
    return { module: UploadsModule, providers: [{ provide: UPLOAD_POLICY, useValue: policy }, ...useCases], exports: useCases };
  }
}
