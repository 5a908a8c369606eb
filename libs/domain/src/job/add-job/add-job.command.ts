import { JobRequestInput } from '../../upload/generate-file-upload-url/generate-file-upload-url.command';

/** Body of POST /v1/uploads/:id/jobs: one job, as in the `jobs` list of a new upload. */
export class AddJobCommand extends JobRequestInput {}
