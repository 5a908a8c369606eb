export * from './errors';
export * from './types';
export { Gateway, GatewayOptions } from './gateway';
export { UploadProgress } from './progress';
export { UploadSource, guessContentType } from './source';
export { ResumeFrom, SessionHandle, PartEvent, SendOptions, UploadFileOptions, UploadResult } from './upload-file';
export { GroupFile, GroupProgress, GroupFileResult, GroupUploadResult, UploadGroupOptions } from './upload-group';
export { WaitOptions } from './wait-for-session';
export { UploadClient, uploadFile, uploadGroup, waitForSession } from './upload-client';
