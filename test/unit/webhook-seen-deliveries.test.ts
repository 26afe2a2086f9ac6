import { describe, expect, it } from 'vitest';
import { SeenDeliveries } from '../../src/webhooks/seen-deliveries.ts';

describe("the receiver's memory of webhook-ids", () => {
  it('tells an id still being handled from one handled: only a handled id is a duplicate', () => {
    const seen = new SeenDeliveries(1_000);
    expect(seen.claim('msg_1', 0)).toBe('claimed');
    // The first attempt has not answered yet (it may still fail): not a duplicate to acknowledge.
    expect(seen.claim('msg_1', 10)).toBe('in_flight');
    seen.release('msg_1');
    expect(seen.claim('msg_1', 20)).toBe('claimed');
    seen.done('msg_1', 30);
    expect(seen.claim('msg_1', 40)).toBe('done');
    // Past the window the signature's timestamp check refuses a replay; the id is forgotten.
    expect(seen.claim('msg_1', 1_031)).toBe('claimed');
  });

  it('forgets expired ids as time passes, not only when full', () => {
    const seen = new SeenDeliveries(1_000, 100_000);
    for (let i = 0; i < 50; i++) {
      seen.claim(`msg_${i}`, i);
      seen.done(`msg_${i}`, i);
    }
    expect(seen.size).toBe(50);
    // Ids 0..19 expired at 1000..1019: the next call forgets them, and only them.
    expect(seen.claim('msg_new', 1_019)).toBe('claimed');
    expect(seen.size).toBe(30);
    expect(seen.claim('msg_20', 1_019)).toBe('done');
    expect(seen.claim('msg_19', 1_019)).toBe('claimed');
  });

  it('holds at most `max` ids, forgetting the oldest; an id handled again counts from its last handling', () => {
    const seen = new SeenDeliveries(1_000, 3);
    for (const id of ['a', 'b', 'c']) {
      seen.claim(id, 0);
      seen.done(id, 0);
    }
    // `a` handled again (a redelivery after a 503 of a later attempt): now the newest.
    seen.claim('a', 5);
    seen.done('a', 5);
    seen.claim('d', 6);
    seen.done('d', 6);
    expect(seen.size).toBe(3);
    expect(seen.claim('b', 7)).toBe('claimed');
    expect(seen.claim('a', 7)).toBe('done');
    expect(seen.claim('c', 7)).toBe('done');
    expect(seen.claim('d', 7)).toBe('done');
    // `a` expires 1000 ms after its second handling, not its first.
    expect(seen.claim('a', 1_004)).toBe('done');
    expect(seen.claim('a', 1_005)).toBe('claimed');
  });
});
