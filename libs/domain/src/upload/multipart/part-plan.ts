import { DomainError } from '../../errors/domain-error';

const MiB = 1024 ** 2;
/** S3's limits: every part but the last at least 5 MiB, none above 5 GiB, at most 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;

export interface PartPlan {
  partSize: number;
  totalParts: number;
}

/**
 * How a file of `size` bytes is cut into parts. A part size the client asks for is honoured when S3 can
 * take it (5 MiB to 5 GiB, at most 10,000 parts); otherwise a 400 names `partSize`. Without one, the
 * configured default grows just enough to stay within 10,000 parts.
 */
export function planParts(size: number, requestedPartSize: number | undefined, defaultPartSize: number): PartPlan {
  if (!Number.isSafeInteger(size) || size < 1) throw DomainError.invalid([{ field: 'size', message: 'must be a positive integer' }]);
  if (requestedPartSize !== undefined) {
    if (!Number.isSafeInteger(requestedPartSize) || requestedPartSize < MIN_PART_SIZE || requestedPartSize > MAX_PART_SIZE) {
      throw DomainError.invalid([{ field: 'partSize', message: `must be an integer from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} (5 GiB) bytes` }]);
    }
    const totalParts = Math.ceil(size / requestedPartSize);
    if (totalParts > MAX_PARTS) {
      throw DomainError.invalid([
        {
          field: 'partSize',
          message: `${requestedPartSize} bytes makes ${totalParts} parts; at most ${MAX_PARTS} are allowed: use at least ${Math.ceil(size / MAX_PARTS)} bytes`,
        },
      ]);
    }
    return { partSize: requestedPartSize, totalParts };
  }
  if (size > MAX_PART_SIZE * MAX_PARTS) throw DomainError.invalid([{ field: 'size', message: `must not exceed ${MAX_PART_SIZE * MAX_PARTS} bytes` }]);
  const partSize = Math.min(MAX_PART_SIZE, Math.max(defaultPartSize, MIN_PART_SIZE, Math.ceil(size / MAX_PARTS)));
  return { partSize, totalParts: Math.ceil(size / partSize) };
}

/** The exact byte count of part `partNumber` (1-based): `partSize`, except the last, which holds the rest. */
export function partLength(size: number, plan: PartPlan, partNumber: number): number {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > plan.totalParts)
    throw new RangeError(`part ${partNumber} is outside 1..${plan.totalParts}`);
  return partNumber < plan.totalParts ? plan.partSize : size - plan.partSize * (plan.totalParts - 1);
}
