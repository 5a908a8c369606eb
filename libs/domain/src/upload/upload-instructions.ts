/** How the client sends the bytes, returned with a new session. */
export type UploadInstructions =
  | { strategy: 'SINGLE'; method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: string }
  /** Nothing to send: the store copies the caller's own stored copy (`duplicateOf`, a session id) server-side. */
  | { strategy: 'NONE'; reason: 'DUPLICATE'; duplicateOf: string }
  | {
      strategy: 'MULTIPART';
      uploadId: string;
      partSize: number;
      totalParts: number;
      parts: { partNumber: number; size: number; url: string }[];
      expiresAt: string;
    };
