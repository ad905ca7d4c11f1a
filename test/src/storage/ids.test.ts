/** Primary keys (ids.ts): RFC 9562 version-7 UUIDs whose first 48 bits are the creation millisecond. */
import { newId } from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisecondOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('newId', () => {
  it('is a version-7 UUID carrying its millisecond', () => {
    for (const ms of [0, 1, Date.UTC(2026, 10, 23, 12, 0, 0, 123), 2 ** 48 - 1]) {
      const id = newId(ms);
      expect(id).toMatch(V7);
      expect(millisecondOf(id)).toBe(ms);
    }
    expect(millisecondOf(newId())).toBeLessThanOrEqual(Date.now());
  });

  it('sorts by creation time as text', () => {
    const base = Date.UTC(2026, 10, 23, 12, 0, 0, 0);
    const ids = [5, 0, 4095, 256, 1, 65_536].map((d) => ({ d, id: newId(base + d) }));
    const byText = [...ids].sort((a, b) => (a.id < b.id ? -1 : 1)).map((x) => x.d);
    expect(byText).toEqual([0, 1, 5, 256, 4095, 65_536]);
  });

  it('has 74 random bits: no repeats, and every random hex digit varies', () => {
    const ids = Array.from({ length: 20_000 }, () => newId(1_000));
    expect(new Set(ids).size).toBe(ids.length);
    const hex = ids.map((id) => id.replaceAll('-', ''));
    // Positions 13–15 and 17–31 are fully random; 16 is the variant digit (8, 9, a or b).
    for (const position of [13, 14, 15, ...Array.from({ length: 15 }, (_, i) => 17 + i)]) {
      expect(new Set(hex.map((h) => h[position])).size).toBe(16);
    }
    expect(new Set(hex.map((h) => h[16]))).toEqual(new Set(['8', '9', 'a', 'b']));
  });
});
