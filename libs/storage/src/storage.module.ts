import { DynamicModule, Global, Module } from '@nestjs/common';
import { OBJECT_STORAGE } from '@app/domain';
import { S3ObjectStorage, S3Settings } from './s3-object-storage';

/** Provides the domain's ObjectStorage port on an S3-compatible store. */
@Global()
@Module({})
export class StorageModule {
  static forRoot(settings: S3Settings): DynamicModule {
    return { module: StorageModule, providers: [{ provide: OBJECT_STORAGE, useValue: new S3ObjectStorage(settings) }], exports: [OBJECT_STORAGE] };
  }
}
