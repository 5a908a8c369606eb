import { applyDecorators } from '@nestjs/common';
import { IsString, Length, Matches, MaxLength } from 'class-validator';

/** A client's file name: 1-255 characters, no control characters, no path separators (the key is made by the server anyway). */
export function IsUploadFilename(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    Length(1, 255),
    Matches(/^[^\x00-\x1f\x7f/\\]+$/, { message: 'filename must not contain control characters or path separators' }),
  );
}

/** A media type `type/subtype` (the allow-list of the upload policy is checked by the use case). */
export function IsMediaType(field: string): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MaxLength(255),
    Matches(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, { message: `${field} must look like type/subtype` }),
  );
}
