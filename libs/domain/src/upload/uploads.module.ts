import { DynamicModule, Module } from '@nestjs/common';
import { CancelUploadGroupUseCase } from '../group/cancel-upload-group/cancel-upload-group.usecase';
import { CreateUploadGroupUseCase } from '../group/create-upload-group/create-upload-group.usecase';
import { GetUploadGroupUseCase } from '../group/get-upload-group/get-upload-group.usecase';
import { ListGroupUploadsUseCase } from '../group/list-group-uploads/list-group-uploads.usecase';
import { ListUploadGroupsUseCase } from '../group/list-upload-groups/list-upload-groups.usecase';
import { StorageEventsModule } from '../storage-event/storage-events.module';
import { UserDirectory } from '../user/user-directory';
import { AbortUploadUseCase } from './abort-upload/abort-upload.usecase';
import { CheckUploadsUseCase } from './check-uploads/check-uploads.usecase';
import { CompleteUploadUseCase } from './complete-upload/complete-upload.usecase';
import { UPLOAD_COMPLETIONS } from './complete-upload/upload-completions.port';
import { UploadCompletionsRepository } from './complete-upload/upload-completions.repository';
import { DeleteUploadUseCase } from './delete-upload/delete-upload.usecase';
import { GenerateFileUploadUrlUseCase } from './generate-file-upload-url/generate-file-upload-url.usecase';
import { GetDownloadUrlUseCase } from './get-download-url/get-download-url.usecase';
import { GetUploadUseCase } from './get-upload/get-upload.usecase';
import { ListUploadPartsUseCase } from './list-upload-parts/list-upload-parts.usecase';
import { ListUploadsUseCase } from './list-uploads/list-uploads.usecase';
import { MultipartParts } from './multipart/multipart-parts';
import { SignUploadPartsUseCase } from './sign-upload-parts/sign-upload-parts.usecase';
import { StartCompanionUploadUseCase } from './start-companion-upload/start-companion-upload.usecase';
import { UPLOAD_POLICY, UploadPolicy } from './upload-policy';
import { StorageQuota } from '../user/storage-quota';
import { UploadSessionRepository } from './upload-session.repository';
import { UploadSessionQueries } from './upload-session.queries';

/** Use cases of the public upload API: sessions, parts, groups. */
@Module({})
export class UploadsModule {
  static forRoot(policy: UploadPolicy): DynamicModule {
    const useCases = [
      GenerateFileUploadUrlUseCase,
      GetUploadUseCase,
      GetDownloadUrlUseCase,
      ListUploadsUseCase,
      CheckUploadsUseCase,
      SignUploadPartsUseCase,
      ListUploadPartsUseCase,
      CompleteUploadUseCase,
      AbortUploadUseCase,
      DeleteUploadUseCase,
      StartCompanionUploadUseCase,
      UserDirectory,
      StorageQuota,
      CreateUploadGroupUseCase,
      GetUploadGroupUseCase,
      ListUploadGroupsUseCase,
      ListGroupUploadsUseCase,
      CancelUploadGroupUseCase,
    ];
    return {
      module: UploadsModule,
      // Completing an upload moves the session exactly as the store's notification does.
      imports: [StorageEventsModule],
      providers: [
        { provide: UPLOAD_POLICY, useValue: policy },
        UploadSessionRepository,
        UploadSessionQueries,
        MultipartParts,
        { provide: UPLOAD_COMPLETIONS, useClass: UploadCompletionsRepository },
        ...useCases,
      ],
      exports: [UPLOAD_POLICY, ...useCases],
    };
  }
}
