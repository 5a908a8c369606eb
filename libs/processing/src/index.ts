export * from './processing.module';
export * from './handlers/checksum.job-handler';
export * from './handlers/metadata.job-handler';
export * from './handlers/thumbnail.job-handler';
export * from './handlers/validation.job-handler';
export * from './handlers/image-formats';
export * from './handlers/content-type-compat';
