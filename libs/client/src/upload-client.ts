import { Gateway, GatewayOptions } from './gateway';
import { UploadSource } from './source';
import { Group, Page, Session, SessionDetails } from './types';
import { GroupFile, GroupUploadResult, UploadGroupOptions, uploadGroupWith } from './upload-group';
import { UploadFileOptions, uploadFileWith, UploadResult } from './upload-file';
import { waitForSessionWith, WaitOptions } from './wait-for-session';

/**
 * One gateway and one identity (bearer token, or the anonymous upload tokens it collects).
 *
 * ```ts
 * const client = new UploadClient({ server: 'http://localhost:3000' });
 * const { sessionId } = await client.uploadFile('./video.mp4', { onProgress: (p) => console.log(p.percent) });
 * const done = await client.waitForSession(sessionId);
 * ```
 */
export class UploadClient {
  readonly gateway: Gateway;

  constructor(options: GatewayOptions) {
    this.gateway = new Gateway(options);
  }

  uploadFile(source: UploadSource, options?: UploadFileOptions): Promise<UploadResult> {
    return uploadFileWith(this.gateway, source, options);
  }

  uploadGroup(files: GroupFile[], options: UploadGroupOptions): Promise<GroupUploadResult> {
    return uploadGroupWith(this.gateway, files, options);
  }

  waitForSession(id: string, options?: WaitOptions): Promise<SessionDetails> {
    return waitForSessionWith(this.gateway, id, options);
  }

  getSession(id: string): Promise<SessionDetails> {
    return this.gateway.getUpload(id);
  }

  listSessions(query?: { status?: string; groupId?: string; cursor?: string; limit?: number }): Promise<Page<Session>> {
    return this.gateway.listUploads(query);
  }

  getGroup(id: string): Promise<Group> {
    return this.gateway.getGroup(id);
  }

  abort(id: string): Promise<Session> {
    return this.gateway.abort(id);
  }
}

type WithGateway = GatewayOptions | { client: UploadClient };
const clientOf = (o: WithGateway) => ('client' in o ? o.client : new UploadClient(o));

/** `uploadFile(source, { server, token?, ...options })`: one file, with a client made for the call (or `client`). */
export function uploadFile(source: UploadSource, options: UploadFileOptions & WithGateway): Promise<UploadResult> {
  return clientOf(options).uploadFile(source, options);
}

/** `uploadGroup(files, { server, name, ...options })`: files as one group, with aggregate progress. */
export function uploadGroup(files: GroupFile[], options: UploadGroupOptions & WithGateway): Promise<GroupUploadResult> {
  return clientOf(options).uploadGroup(files, options);
}

/** `waitForSession(id, { server, until })`: follows a session to a final state (or `until`), with its jobs. */
export function waitForSession(id: string, options: WaitOptions & WithGateway): Promise<SessionDetails> {
  return clientOf(options).waitForSession(id, options);
}
