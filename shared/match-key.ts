// The match key of a name: how an imported Cialfo account and a PowerSchool record are compared.

/**
 * Letters NFKD does not decompose into a base letter and a mark, folded by hand (lower case: the
 * name is lower-cased first). Without them Øyvind, Łukasz and Straße would never meet their
 * ASCII spellings.
 */
const FOLDS: Record<string, string> = { ß: 'ss', ø: 'o', ł: 'l', æ: 'ae', đ: 'd' };
const FOLDABLE = /[ßøłæđ]/gu;
const COMBINING_MARKS = /\p{M}/gu;
const WHITESPACE_RUN = /\s+/gu;

/**
 * NFKD, combining marks removed, ß/ø/ł/æ/đ folded, lower case, inner whitespace collapsed,
 * trimmed. Computed once in TypeScript (when a record is staged or an account imported) and
 * stored, so SQL only ever compares keys and the two sides can never fold differently.
 */
export function matchKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .toLowerCase()
    .replace(FOLDABLE, (c) => FOLDS[c] ?? c)
    .replace(WHITESPACE_RUN, ' ')
    .trim();
}
