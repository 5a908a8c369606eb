/*
 * Rules of the fields several commands share. Each command spells out its class-validator decorators on the
 * property itself (`@IsString() @Length(1, MAX_FILENAME_LENGTH) @Matches(UPLOAD_FILENAME, …)`): the Swagger
 * plugin documents a request body from the decorators it finds there, and cannot see into a composite one.
 */

/** Longest file name and media type a client may send. */
export const MAX_FILENAME_LENGTH = 255;
export const MAX_MEDIA_TYPE_LENGTH = 255;

/** A client's file name: no control characters, no path separators (the key is made by the server anyway). */
export const UPLOAD_FILENAME = /^[^\x00-\x1f\x7f/\\]+$/;
export const UPLOAD_FILENAME_RULE = { message: 'filename must not contain control characters or path separators' };

/** A media type `type/subtype` (the allow-list of the upload policy is checked by the use case). */
export const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
export const mediaTypeRule = (field: string) => ({ message: `${field} must look like type/subtype` });
