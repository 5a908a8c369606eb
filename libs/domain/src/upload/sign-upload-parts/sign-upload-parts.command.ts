import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsInt, Max, Min } from 'class-validator';
import { MAX_PARTS } from '../multipart/part-plan';

/** Body of POST /v1/uploads/:id/parts: the parts to (re-)sign, e.g. after a reload or when URLs expired. */
export class SignUploadPartsCommand {
  /**
   * part numbers (1-10,000) to get fresh pre-signed URLs for
   * @example [1, 2, 3]
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ArrayUnique()
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_PARTS, { each: true })
  partNumbers!: number[];
}
