import type { ConsumeMessage } from 'amqplib';
import { AckBatcher, Settler } from './ack-batcher';

const message = (deliveryTag: number) => ({ fields: { deliveryTag } }) as ConsumeMessage;
const turn = () => new Promise((r) => setImmediate(r));

/** What the broker would hold: outstanding tags, settled by single or `multiple` acks and by nacks. */
class Broker implements Settler {
  outstanding = new Set<number>();
  frames: string[] = [];
  requeued: number[] = [];
  closed = false;
  deliver(tag: number, batcher: AckBatcher): ConsumeMessage {
    this.outstanding.add(tag);
    const m = message(tag);
    batcher.delivered(m);
    return m;
  }
  ack(m: ConsumeMessage, allUpTo = false): void {
    if (this.closed) throw new Error('Channel closed');
    const tag = m.fields.deliveryTag;
    if (!this.outstanding.has(tag)) throw new Error(`PRECONDITION_FAILED - unknown delivery tag ${tag}`);
    this.frames.push(allUpTo ? `ack<=${tag}` : `ack ${tag}`);
    for (const t of [...this.outstanding]) if (allUpTo ? t <= tag : t === tag) this.outstanding.delete(t);
  }
  nack(m: ConsumeMessage, _allUpTo = false, requeue = true): void {
    this.frames.push(`nack ${m.fields.deliveryTag}`);
    this.outstanding.delete(m.fields.deliveryTag);
    if (requeue) this.requeued.push(m.fields.deliveryTag);
  }
}

describe('AckBatcher', () => {
  it('acks finished in one turn go as one multiple ack when they are the oldest outstanding deliveries', async () => {
    const broker = new Broker();
    const errors: unknown[] = [];
    const b = new AckBatcher(broker, (e) => errors.push(e));
    const ms = [1, 2, 3, 4].map((t) => broker.deliver(t, b));
    for (const m of [ms[2], ms[0], ms[1], ms[3]]) b.ack(m);
    expect(broker.frames).toEqual([]);
    await turn();
    expect(broker.frames).toEqual(['ack<=4']);
    expect(broker.outstanding.size).toBe(0);
    expect(errors).toEqual([]);
  });

  it('never acks a delivery still running: acks behind it go one by one', async () => {
    const broker = new Broker();
    const b = new AckBatcher(broker, () => undefined);
    const ms = [1, 2, 3, 4, 5].map((t) => broker.deliver(t, b));
    b.ack(ms[0]);
    b.ack(ms[1]);
    b.ack(ms[3]);
    await turn();
    expect(broker.frames).toEqual(['ack<=2', 'ack 4']);
    expect([...broker.outstanding]).toEqual([3, 5]);
    // The running one finishes later; the one after it too.
    b.ack(ms[4]);
    b.ack(ms[2]);
    await turn();
    expect(broker.frames.slice(2)).toEqual(['ack<=5']);
    expect(broker.outstanding.size).toBe(0);
  });

  it('a nacked delivery leaves the run at once: a later multiple ack does not reach it twice', async () => {
    const broker = new Broker();
    const b = new AckBatcher(broker, () => undefined);
    const ms = [1, 2, 3].map((t) => broker.deliver(t, b));
    b.nack(ms[0], true);
    b.ack(ms[1]);
    b.ack(ms[2]);
    await turn();
    expect(broker.frames).toEqual(['nack 1', 'ack<=3']);
    expect(broker.requeued).toEqual([1]);
    expect(broker.outstanding.size).toBe(0);
  });

  it('a single ack goes without `multiple`; flush sends what waits at once (shutdown)', () => {
    const broker = new Broker();
    const b = new AckBatcher(broker, () => undefined);
    const [m] = [1].map((t) => broker.deliver(t, b));
    b.ack(m);
    b.flush();
    expect(broker.frames).toEqual(['ack 1']);
  });

  it('acks on a closed channel are reported, not thrown (the broker redelivers those messages)', async () => {
    const broker = new Broker();
    const errors: unknown[] = [];
    const b = new AckBatcher(broker, (e) => errors.push(e));
    const m = broker.deliver(1, b);
    broker.closed = true;
    b.ack(m);
    await turn();
    expect(errors).toEqual([new Error('Channel closed')]);
  });
});
