import { canTransition, sourcesOf } from '../lifecycle/transitions';
import { WEBHOOK_DELIVERY_TRANSITIONS, WebhookDeliveryStatus } from './webhook-delivery-status';

const D = WebhookDeliveryStatus;
const allowed = new Set(
  [
    [D.PENDING, D.SENDING],
    [D.PENDING, D.FAILED],
    [D.PENDING, D.PENDING],
    [D.SENDING, D.DELIVERED],
    [D.SENDING, D.PENDING],
    [D.SENDING, D.FAILED],
    [D.SENDING, D.SENDING],
    [D.DELIVERED, D.PENDING],
    [D.FAILED, D.PENDING],
  ].map(([a, b]) => `${a}>${b}`),
);
const all = Object.values(D);

describe('webhook delivery lifecycle', () => {
  it.each(all.flatMap((from) => all.map((to) => [from, to, allowed.has(`${from}>${to}`)] as const)))('%s → %s allowed: %s', (from, to, ok) => {
    expect(canTransition(WEBHOOK_DELIVERY_TRANSITIONS, from, to)).toBe(ok);
  });

  it('an attempt is claimed from PENDING, or taken over from an expired SENDING; a replay starts from anything but SENDING', () => {
    expect(sourcesOf(WEBHOOK_DELIVERY_TRANSITIONS, D.SENDING).sort()).toEqual([D.PENDING, D.SENDING].sort());
    expect(sourcesOf(WEBHOOK_DELIVERY_TRANSITIONS, D.PENDING).sort()).toEqual([D.DELIVERED, D.FAILED, D.PENDING, D.SENDING].sort());
    expect(sourcesOf(WEBHOOK_DELIVERY_TRANSITIONS, D.DELIVERED)).toEqual([D.SENDING]);
  });
});
