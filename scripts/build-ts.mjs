#!/usr/bin/env node
// Compiles apps/ and libs/ (tsconfig.build.json) like `tsc -p tsconfig.build.json`, with the @nestjs/swagger
// compiler plugin as a `before` transformer: plain tsc runs no transformers, and `nest build` builds one app at a
// time. The plugin turns the class-validator decorators and the doc comments of the request classes
// (`*.command.ts`) into their OpenAPI schemas, so the class that validates a body is the one that documents it.
// Run by `npm run build`; exits non-zero on any compiler error, like tsc.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');
const swaggerPlugin = require('@nestjs/swagger/plugin');

/** The plugin's options: request classes only (responses keep their explicit @ApiProperty), controllers untouched. */
const SWAGGER_PLUGIN_OPTIONS = {
  dtoFileNameSuffix: ['.command.ts'],
  controllerFileNameSuffix: [],
  classValidatorShim: true,
  introspectComments: true,
  autoFillEnumName: true,
};

const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => report([d]) };
const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), {}, host);
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
const emitted = program.emit(undefined, undefined, undefined, false, { before: [swaggerPlugin.before(SWAGGER_PLUGIN_OPTIONS, program)] });
const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (diagnostics.length > 0) report(diagnostics);

function report(list) {
  const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(list, format));
  process.exit(1);
}
