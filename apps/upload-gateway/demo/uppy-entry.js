// The three Uppy packages the demo page uses, bundled into one browser module by scripts/build-demo.mjs
// (Uppy 6 ships ES modules with CommonJS dependencies, which a browser cannot load as they are).
export { default as Uppy } from '@uppy/core';
export { default as Dashboard } from '@uppy/dashboard';
export { default as AwsS3 } from '@uppy/aws-s3';
