import { TOPOLOGY_MIGRATION_DOC, TopologyMismatch } from './topology';

describe('TopologyMismatch.from', () => {
  it('names the queue and the argument RabbitMQ refused, and the migration path', () => {
    const broker = new Error(
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue 'jobs.validation' in vhost '/': received the value '10' of type 'signedint' but current is none"`,
    );
    const mismatch = TopologyMismatch.from(broker)!;
    expect(mismatch).toBeInstanceOf(TopologyMismatch);
    expect(mismatch).toMatchObject({ object: 'queue jobs.validation', argument: 'x-max-priority' });
    expect(mismatch.message).toContain('queue jobs.validation, argument x-max-priority');
    expect(mismatch.message).toContain(TOPOLOGY_MIGRATION_DOC);
  });

  it('names an exchange declared with another type', () => {
    const broker = new Error(
      `406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'jobs' in vhost '/': received 'topic' but current is 'direct'"`,
    );
    expect(TopologyMismatch.from(broker)).toMatchObject({ object: 'exchange jobs', argument: 'type' });
  });

  it.each([
    ['a lost connection', new Error('Connection closed: 320 (CONNECTION-FORCED)')],
    ['access refused', new Error('403 (ACCESS-REFUSED)')],
  ])('is not a mismatch: %s', (_, e) => expect(TopologyMismatch.from(e)).toBeNull());
});
