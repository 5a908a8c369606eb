import { IsIn, IsOptional } from 'class-validator';

export const DOWNLOAD_VARIANTS = ['original', 'thumbnail'] as const;
export type DownloadVariant = (typeof DOWNLOAD_VARIANTS)[number];

/** Query of GET /v1/uploads/:id/download. */
export class GetDownloadUrlQuery {
  @IsOptional()
  @IsIn(DOWNLOAD_VARIANTS)
  variant?: DownloadVariant;
}
