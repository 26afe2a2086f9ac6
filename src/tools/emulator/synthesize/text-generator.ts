import type { SeededRandom } from '../seeded-random.ts';

const WORDS = (
  'the a this that batch result answer review data model request response value item record summary ' +
  'positive negative neutral clear quick careful useful simple detailed accurate steady brief ' +
  'shows means suggests returns includes describes explains matches reports keeps ' +
  'customer product service order delivery quality price support team night morning report'
).split(' ');

/** Deterministic filler prose of about `words` words, ending with a full stop. */
export function sentence(random: SeededRandom, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(random.pick(WORDS));
  const text = out.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
