// Which addresses count as one for a limit. One IPv6 customer usually gets a whole /64 (2^64
// addresses), so a per-address budget that counted IPv6 addresses one by one would bind nobody.

import { isIP } from 'node:net';

/** "203.0.113.7" stays itself; "2001:db8:1:2:3:4:5:6" (any spelling) → "2001:db8:1:2::/64". */
export function addressBlock(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIPv6(address);
  if (!groups) return address;
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

function expandIPv6(address: string): number[] | null {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) only ever appears past the /64: its value does not matter here.
  const missing = 8 - before.length - after.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  const groups = [...before, ...Array<number>(missing).fill(0), ...after];
  return groups.some((group) => Number.isNaN(group)) ? null : groups;
}
