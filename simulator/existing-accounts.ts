// A school's "existing accounts" file: the Cialfo accounts it had before switching the sync on.
import { seededRandom } from './random.js';
import type { SimulatedStudent } from './students.js';

/** One account as a school exports it, in the shape of POST …/students/import. */
export interface ExistingAccount {
  externalId: string;
  firstName: string;
  lastName: string;
  dateOfBirth: string | null;
  graduationYear: number | null;
}

export interface ExistingAccountsOptions {
  /** Share (0..1) of the given students that already have an account (default 0.6). */
  share?: number;
  seed?: number;
}

/**
 * Accounts for some of `students`, typed by hand long ago: accents dropped, case changed, some
 * without a date of birth (matched on graduation year). One student has two accounts with the same
 * names and date of birth (a match review), and a few accounts match nobody. Reproducible from the
 * seed.
 */
export function existingAccountsFile(
  students: readonly SimulatedStudent[],
  options: ExistingAccountsOptions = {},
): ExistingAccount[] {
  const random = seededRandom(options.seed ?? 1);
  const share = options.share ?? 0.6;
  const accounts: ExistingAccount[] = [];
  const typed = (name: string) => {
    const plain = name.normalize('NFKD').replace(/\p{M}/gu, '');
    return random() < 0.3 ? plain.toUpperCase() : plain;
  };
  const named = students.filter(wellFormed);
  const covered = new Set<number>();
  for (const s of named) {
    if (random() >= share) continue;
    covered.add(s.dcid);
    accounts.push({
      externalId: `cialfo-${10_000 + accounts.length}`,
      firstName: typed(s.first_name),
      lastName: typed(s.last_name),
      dateOfBirth: random() < 0.1 || !s.dob ? null : s.dob,
      graduationYear: s.sched_yearofgraduation,
    });
  }
  // From the middle of the list: the demo renames the first students and moves the last one out.
  const twin = named.slice(Math.floor(named.length / 2)).find((s) => s.dob && !covered.has(s.dcid));
  if (twin) {
    for (const suffix of ['a', 'b']) {
      accounts.push({
        externalId: `cialfo-twin-${suffix}`,
        firstName: twin.first_name,
        lastName: twin.last_name,
        dateOfBirth: twin.dob,
        graduationYear: twin.sched_yearofgraduation,
      });
    }
  }
  for (let i = 0; i < 5; i++) {
    accounts.push({
      externalId: `cialfo-alumni-${i}`,
      firstName: 'Former',
      lastName: `Student ${i + 1}`,
      dateOfBirth: null,
      graduationYear: 2020,
    });
  }
  return accounts;
}

/** Only records a school's own system would hold: the simulator also seeds broken ones on purpose. */
function wellFormed(s: SimulatedStudent): boolean {
  const name = (n: string) => n.trim() !== '' && [...n.trim()].length <= 50 && !/\p{Cc}/u.test(n);
  const realDate = (d: string) =>
    /^\d{4}-\d{2}-\d{2}$/.test(d) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d);
  const date = s.dob === null || s.dob === '' || (typeof s.dob === 'string' && realDate(s.dob));
  return (
    name(String(s.first_name)) &&
    name(String(s.last_name)) &&
    date &&
    Number.isInteger(s.sched_yearofgraduation) &&
    s.sched_yearofgraduation >= 1900
  );
}
