// Readable meeting names such as "quiet-river-417": easy to say on the phone, hard to guess.

const ADJECTIVES = ['amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosy', 'eager', 'gentle', 'golden', 'happy', 'keen', 'kind', 'lively', 'lucky', 'merry', 'mild', 'noble', 'proud', 'quick', 'quiet', 'rapid', 'sunny', 'swift', 'tidy', 'vivid', 'warm', 'wise'];
const NOUNS = ['badger', 'brook', 'cedar', 'cloud', 'comet', 'falcon', 'fern', 'garden', 'harbor', 'island', 'lake', 'linden', 'maple', 'meadow', 'otter', 'owl', 'pine', 'river', 'robin', 'rocket', 'sparrow', 'square', 'stone', 'tower', 'valley', 'willow'];

export function randomMeetingName(random: () => number = secureRandom): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${100 + Math.floor(random() * 900)}`;
}

function secureRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
}
