import { Controller, Get, Header, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UPLOAD_POLICY, UploadPolicy } from '@app/domain';
import { Public, uploadTokenCookie, uploadTokenCookieName } from '../identity/auth.guard';
import { PageTokens } from '../identity/page-tokens';

/** Built by scripts/build-demo.mjs next to the compiled app: dist/apps/upload-gateway/demo. */
const DEMO_DIR = join(__dirname, '..', '..', 'demo');
const FILES: Record<string, string> = { 'uppy.js': 'text/javascript', 'uppy.css': 'text/css', 'demo.js': 'text/javascript' };

/**
 * A small page that uploads with Uppy's Dashboard and `@uppy/aws-s3` against this gateway, then shows each
 * file's session status. Serving the page gives the browser an HttpOnly upload-token cookie (issued by this
 * gateway, `__Host-` and Secure over https), so the anonymous sessions it creates are its own.
 */
@Public()
@Controller('demo')
export class DemoController {
  constructor(
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
    private readonly pageTokens: PageTokens,
  ) {}

  @Get()
  page(@Req() req: Request, @Res() res: Response): void {
    // Only a token this gateway issued is kept; any other (one a client or a sibling subdomain chose) is replaced.
    const name = uploadTokenCookieName(req.secure);
    if (!this.pageTokens.isIssued(uploadTokenCookie(req.headers.cookie, name) ?? null)) {
      res.cookie(name, this.pageTokens.issue(), { httpOnly: true, secure: req.secure, sameSite: 'strict', path: '/', maxAge: 7 * 24 * 3600 * 1000 });
    }
    this.send(res, 'index.html', 'text/html; charset=utf-8');
  }

  @Get('config.json')
  @Header('Cache-Control', 'no-store')
  config() {
    return { multipartThreshold: this.policy.multipartThreshold, maxFileSize: this.policy.maxFileSize };
  }

  @Get(':file')
  asset(@Req() req: Request, @Res() res: Response): void {
    const file = String(req.params.file);
    const type = FILES[file];
    if (!type) {
      res.status(404).json({ statusCode: 404, error: 'Not Found', message: `no ${file} here` });
      return;
    }
    this.send(res, file, `${type}; charset=utf-8`);
  }

  private send(res: Response, file: string, type: string): void {
    const path = join(DEMO_DIR, file);
    if (!existsSync(path)) {
      res.status(404).json({ statusCode: 404, error: 'Not Found', message: 'the demo page is not built: npm run build' });
      return;
    }
    // With `root`, only the file name is checked for dot-segments: the app may run from a hidden folder.
    res.type(type).sendFile(file, { root: DEMO_DIR });
  }
}
