/** Thrown by a consumer for a message that can never succeed: it goes to the dead-letter queue with this reason. */
export class DeadLetter extends Error {
  /**
   * `body`: what to dead-letter instead of the whole message (the records that failed, when the others of the
   * message were applied).
   */
  constructor(
    reason: string,
    readonly body?: Buffer,
  ) {
    super(reason);
    this.name = 'DeadLetter';
  }
}

/**
 * Thrown for a failure of something the message depends on (database, broker, store) rather than of
 * the message itself: it is requeued after a pause and never counted towards dead-lettering. A zero pause hands
 * it straight back (a process shutting down).
 */
export class RetryLater extends Error {
  constructor(
    reason: string,
    readonly delayMs = 2_000,
  ) {
    super(reason);
    this.name = 'RetryLater';
  }
}
