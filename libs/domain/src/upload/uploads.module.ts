import { DynamicModule, Module } from '@nestjs/common';
import { StorageEventsModule } from '../storage-event/storage-events.module';
import { AbortUploadUseCase } from './abort-upload/abort-upload.usecase';
import { CompleteUploadUseCase } from './complete-upload/complete-upload.usecase';
import { GenerateFileUploadUrlUseCase } from './generate-file-upload-url/generate-file-upload-url.usecase';
import { ListUploadPartsUseCase } from './list-upload-parts/list-upload-parts.usecase';
import { MultipartParts } from './multipart/multipart-parts';
import { SignUploadPartsUseCase } from './sign-upload-parts/sign-upload-parts.usecase';
import { StartCompanionUploadUseCase } from './start-companion-upload/start-companion-upload.usecase';
import { GetDownloadUrlUseCase } from './get-download-url/get-download-url.usecase';
import { GetUploadUseCase } from './get-upload/get-upload.usecase';
import { ListUploadsUseCase } from './list-uploads/list-uploads.usecase';
import { UPLOAD_POLICY, UploadPolicy } from './upload-policy';
import { UserDirectory } from '../user/user-directory';

/** Use cases of the public upload API. */
@Module({})
export class UploadsModule {
  static forRoot(policy: UploadPolicy): DynamicModule {
    const useCases = [
      GenerateFileUploadUrlUseCase,
      GetUploadUseCase,
      ListUploadsUseCase,
      SignUploadPartsUseCase,
      ListUploadPartsUseCase,
      CompleteUploadUseCase,
      AbortUploadUseCase,
      StartCompanionUploadUseCase,
      GetDownloadUrlUseCase,
      UserDirectory,
    ];
    return {
      module: UploadsModule,
      // Completing an upload moves the session exactly as the store's notification does.
      imports: [StorageEventsModule],
      providers: [{ provide: UPLOAD_POLICY, useValue: policy }, MultipartParts, ...useCases],
      exports: [UPLOAD_POLICY, ...useCases],
    };
  }
}
