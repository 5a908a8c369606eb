/** Thrown by a consumer for a message that can never succeed: it goes to the dead-letter queue with this reason. */
export class DeadLetter extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'DeadLetter';
  }
}

/**
 * Thrown for a failure of something the message depends on (database, broker, store) rather than of
 * the message itself: it is requeued after a pause and never counted towards dead-lettering.
 */
export class RetryLater extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RetryLater';
  }
}
