import { describe, expect, it } from 'vitest';
import { HeavySlots, heavySlotCount } from '../../activities/heavy-slots.ts';

describe('heavySlotCount', () => {
  // The option and the environment variable follow one rule, and the message names the source.
  it('takes whole numbers from 0 and names the source of anything else', () => {
    expect(heavySlotCount(0)).toBe(0);
    expect(heavySlotCount(3, 'OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS', '" 3 "')).toBe(3);
    expect(() => heavySlotCount(Number('two'), 'OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS', '"two"')).toThrow(
      'OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS must be a whole number (0: no limit), got "two"',
    );
    expect(() => heavySlotCount(-1, 'OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS', '"-1"')).toThrow('got "-1"');
    expect(() => new HeavySlots(1.5)).toThrow('heavyActivitySlots must be a whole number (0: no limit), got 1.5');
    expect(() => new HeavySlots(NaN)).toThrow('got NaN');
    // An untyped caller's string is refused, as before, not read as a number.
    expect(() => new HeavySlots('3' as unknown as number)).toThrow('got 3');
  });
});
