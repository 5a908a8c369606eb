import { Gateway, GatewayOptions } from './gateway';
import { followEvents } from './live';
import { UploadSource } from './source';
import { CheckedFile, Group, LiveEvent, Page, Session, SessionDetails, StreamTicket } from './types';
import { GroupFile, GroupUploadResult, UploadGroupOptions, uploadGroupWith } from './upload-group';
import { UploadFileOptions, uploadFileWith, UploadResult } from './upload-file';
import { waitForGroupWith, WaitForGroupOptions } from './wait-for-group';
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

  /** Follows a session (live, polling where the gateway has no stream) to a final status or `until`. */
  waitForSession(id: string, options?: WaitOptions): Promise<SessionDetails> {
    return waitForSessionWith(this.gateway, id, options);
  }

  /** Follows a group (live, polling where the gateway has no stream) to its final status or `until`. */
  waitForGroup(id: string, options?: WaitForGroupOptions): Promise<Group> {
    return waitForGroupWith(this.gateway, id, options);
  }

  /**
   * The live events of a session: its snapshot, then each of its events, until its final one (the iteration
   * ends when the gateway ends the stream). `for await (const e of client.sessionEvents(id)) …`
   */
  sessionEvents(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<LiveEvent<SessionDetails>> {
    return followEvents<SessionDetails>(this.gateway, 'session', id, options);
  }

  /** The live events of a group: its snapshot, then its sessions' and its own events, until its final one. */
  groupEvents(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<LiveEvent<Group>> {
    return followEvents<Group>(this.gateway, 'group', id, options);
  }

  /** A short-lived URL that opens one stream without headers: `new EventSource(ticket.url)` in a browser. */
  streamTicket(kind: 'session' | 'group', id: string): Promise<StreamTicket> {
    return this.gateway.streamTicket(kind, id);
  }

  /** Which of these files (base64 SHA-256, size) you already hold as COMPLETED uploads (1,000 per call). */
  checkUploads(files: { checksumSha256: string; size: number }[]): Promise<CheckedFile[]> {
    return this.gateway.checkUploads(files);
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

/** `waitForGroup(id, { server })`: follows a group to its final state (or `until`). */
export function waitForGroup(id: string, options: WaitForGroupOptions & WithGateway): Promise<Group> {
  return clientOf(options).waitForGroup(id, options);
}
