import { DynamicModule, Module } from '@nestjs/common';
import { CancelUploadGroupUseCase } from '../group/cancel-upload-group/cancel-upload-group.usecase';
import { CreateUploadGroupUseCase } from '../group/create-upload-group/create-upload-group.usecase';
import { GetUploadGroupUseCase } from '../group/get-upload-group/get-upload-group.usecase';
import { ListGroupUploadsUseCase } from '../group/list-group-uploads/list-group-uploads.usecase';
import { ListUploadGroupsUseCase } from '../group/list-upload-groups/list-upload-groups.usecase';
import { GenerateFileUploadUrlUseCase } from './generate-file-upload-url/generate-file-upload-url.usecase';
import { GetUploadUseCase } from './get-upload/get-upload.usecase';
import { ListUploadsUseCase } from './list-uploads/list-uploads.usecase';
import { UPLOAD_POLICY, UploadPolicy } from './upload-policy';
import { UserDirectory } from '../user/user-directory';

/** Use cases of the public upload API: sessions and upload groups. */
@Module({})
export class UploadsModule {
  static forRoot(policy: UploadPolicy): DynamicModule {
    const useCases = [
      GenerateFileUploadUrlUseCase,
      GetUploadUseCase,
      ListUploadsUseCase,
      UserDirectory,
      CreateUploadGroupUseCase,
      GetUploadGroupUseCase,
      ListUploadGroupsUseCase,
      ListGroupUploadsUseCase,
      CancelUploadGroupUseCase,
    ];
    return { module: UploadsModule, providers: [{ provide: UPLOAD_POLICY, useValue: policy }, ...useCases], exports: useCases };
  }
}
