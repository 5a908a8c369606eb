/** How the client sends the bytes, returned with a new session. */
export type UploadInstructions =
  | { strategy: 'SINGLE'; method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: string }
  | { strategy: 'MULTIPART'; uploadId: string; partSize: number; totalParts: number; parts: { partNumber: number; size: number; url: string }[]; expiresAt: string };
