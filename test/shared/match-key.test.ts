import { describe, expect, it } from 'vitest';
import { matchKey } from '../../shared/match-key.js';

describe('matchKey', () => {
  it.each([
    ['Øyvind', 'oyvind'],
    ['ØYVIND', 'oyvind'],
    ['Łukasz', 'lukasz'],
    ['Straße', 'strasse'],
    ['STRAẞE', 'strasse'],
    ['Æsa', 'aesa'],
    ['Đorđe', 'dorde'],
    ['İlker', 'ilker'],
    ["O'Brien", "o'brien"],
    ['José', 'jose'],
    // The same é written as e + combining acute accent.
    ['Jose\u0301', 'jose'],
    ['  Mary   Ann\t', 'mary ann'],
    ['ﬁona', 'fiona'],
  ])('%s → %s', (name, key) => {
    expect(matchKey(name)).toBe(key);
  });

  it('keeps what tells names apart: apostrophes, hyphens and letters of other scripts', () => {
    expect(matchKey("O'Brien")).not.toBe(matchKey('OBrien'));
    expect(matchKey('Anne-Marie')).toBe('anne-marie');
    expect(matchKey('张伟')).toBe('张伟');
  });
});
