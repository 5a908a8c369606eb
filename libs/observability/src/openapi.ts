import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export interface OpenApiInfo {
  title: string;
  description: string;
  version: string;
  /** Adds the gateway's security schemes (bearer JWT, X-Upload-Token). */
  gatewaySecurity?: boolean;
}

/** The OpenAPI document of an app, generated from its controllers' decorators. */
export function openApiDocument(app: INestApplication, info: OpenApiInfo): OpenAPIObject {
  let builder = new DocumentBuilder().setTitle(info.title).setDescription(info.description).setVersion(info.version);
  if (info.gatewaySecurity) {
    builder = builder
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'HS256 with JWT_SECRET or RS256/ES256 from JWKS_URL; `sub` is the user id',
      })
      .addApiKey(
        { type: 'apiKey', in: 'header', name: 'X-Upload-Token', description: 'anonymous callers: the uploadToken returned at creation' },
        'uploadToken',
      );
  }
  return SwaggerModule.createDocument(app, builder.build());
}

/** Serves the document at /docs (Swagger UI) and /docs-json. */
export function serveOpenApi(app: INestApplication, info: OpenApiInfo): void {
  SwaggerModule.setup('docs', app, () => openApiDocument(app, info), { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
