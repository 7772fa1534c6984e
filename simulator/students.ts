// The simulator's student table: seeded students, kept sorted by DCID, with cached query views.
import { FIRST_NAMES, LAST_NAMES } from './names.js';
import { intBetween, pick, seededRandom, type Random } from './random.js';

/**
 * The simulator's student table: seeded, deterministic, kept sorted by DCID, with a cache of
 * filtered/sorted views per scope (invalidated on every change) so that paging through 100,000
 * students costs one filter per scope, then one slice per page (simulator/table-routes.ts cuts the
 * DCID bounds of a keyset page out of the scope's view).
 */

export interface SimulatedStudent {
  dcid: number;
  id: number;
  student_number: string;
  first_name: string;
  last_name: string;
  dob: string | null;
  gender: string | null;
  grade_level: number;
  sched_yearofgraduation: number;
  enroll_status: number;
  schoolid: number;
}

export const STUDENT_TABLE_COLUMNS = [
  'dcid',
  'id',
  'student_number',
  'first_name',
  'last_name',
  'dob',
  'gender',
  'grade_level',
  'sched_yearofgraduation',
  'enroll_status',
  'schoolid',
] as const satisfies readonly (keyof SimulatedStudent)[];

export type StudentColumn = (typeof STUDENT_TABLE_COLUMNS)[number];

export interface SeedOptions {
  count: number;
  seed: number;
  /** Schools of the district (default 3): school numbers 100, 200, … */
  schools?: number;
  /** 0..1: share of records with one broken field (impossible DOB, graduation year 0, ...). */
  malformedShare?: number;
  /** The calendar year in which the current school year ends; derives graduation years. */
  schoolYearEnd?: number;
}

/** School year ending in June: from July on, seniors graduate next calendar year. */
export function currentSchoolYearEnd(now = new Date()): number {
  return now.getUTCMonth() >= 6 ? now.getUTCFullYear() + 1 : now.getUTCFullYear();
}

const OTHER_STATUSES = [-1, 1, -2, 2, 3, 4];
const FIRST_DCID = 1001;
/** The grades seeded students are spread over: a school reading all of them reads every student. */
export const SEEDED_GRADES = { from: -2, to: 12 } as const;
/** PowerSchool's "Graduated Students" school: where graduates are moved. */
export const GRADUATED_SCHOOL_NUMBER = 999999;
export const DEFAULT_SCHOOLS = 3;

/** The district's school numbers: 100, 200, … */
export function schoolNumbers(schools: number): number[] {
  return Array.from({ length: schools }, (_, i) => (i + 1) * 100);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function randomDob(random: Random, graduationYear: number): string {
  // Seniors graduate at 17–18: born in (graduation year − 18), Sept to Aug.
  const year = graduationYear - 18 + (random() < 0.67 ? 0 : -1);
  const month = intBetween(random, 1, 12);
  const day = intBetween(random, 1, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!);
  return `${year}-${pad(month)}-${pad(day)}`;
}

function generateStudent(random: Random, dcid: number, schoolYearEnd: number, schools: number): SimulatedStudent {
  const gradeLevel = intBetween(random, SEEDED_GRADES.from, SEEDED_GRADES.to);
  const graduationYear = schoolYearEnd + (12 - gradeLevel);
  const genderRoll = random();
  const student: SimulatedStudent = {
    dcid,
    // ID is another internal key, deliberately unlike the DCID.
    id: 500_000 + ((dcid * 7919) % 400_000),
    student_number: String(20_000 + dcid),
    first_name: pick(random, FIRST_NAMES),
    last_name: pick(random, LAST_NAMES),
    dob: random() < 0.03 ? null : randomDob(random, graduationYear),
    gender: genderRoll < 0.47 ? 'M' : genderRoll < 0.94 ? 'F' : genderRoll < 0.97 ? 'X' : null,
    grade_level: gradeLevel,
    sched_yearofgraduation: graduationYear,
    enroll_status: random() < 0.85 ? 0 : pick(random, OTHER_STATUSES),
    // Consecutive DCIDs go to different schools, as a district's records interleave.
    schoolid: schoolNumbers(schools)[dcid % schools]!,
  };
  if (student.enroll_status === 3) student.schoolid = GRADUATED_SCHOOL_NUMBER;
  return student;
}

/** One broken field, of the kinds real districts have. */
function breakOneField(random: Random, s: SimulatedStudent): void {
  const kind = intBetween(random, 0, 5);
  if (kind === 0) s.dob = `${s.sched_yearofgraduation - 18}-02-30`;
  else if (kind === 1) s.sched_yearofgraduation = 0;
  else if (kind === 2) s.first_name = '';
  else if (kind === 3) s.last_name = `${s.last_name}-${'x'.repeat(60)}`;
  else if (kind === 4) s.dob = 'not a date';
  else s.last_name = '   ';
}

export function seedStudents(options: SeedOptions): SimulatedStudent[] {
  const random = seededRandom(options.seed);
  const schoolYearEnd = options.schoolYearEnd ?? currentSchoolYearEnd();
  const malformedShare = options.malformedShare ?? 0;
  const schools = options.schools ?? DEFAULT_SCHOOLS;
  const students: SimulatedStudent[] = [];
  let dcid = FIRST_DCID;
  for (let i = 0; i < options.count; i++) {
    const student = generateStudent(random, dcid, schoolYearEnd, schools);
    if (malformedShare > 0 && random() < malformedShare) breakOneField(random, student);
    students.push(student);
    dcid += random() < 0.1 ? intBetween(random, 2, 5) : 1; // DCIDs have gaps (deleted records)
  }
  return students;
}

export class StudentStore {
  /** Sorted by DCID ascending. */
  private rows: SimulatedStudent[];
  private readonly byDcid = new Map<number, SimulatedStudent>();
  private readonly views = new Map<string, SimulatedStudent[]>();
  private readonly random: Random;
  private built = 0;

  constructor(
    initial: SimulatedStudent[],
    seed: number,
    private readonly schoolYearEnd: number,
    private readonly schools = DEFAULT_SCHOOLS,
  ) {
    this.rows = [...initial].sort((a, b) => a.dcid - b.dcid);
    for (const s of this.rows) this.byDcid.set(s.dcid, s);
    this.random = seededRandom(seed ^ 0x5eed);
  }

  get size(): number {
    return this.rows.length;
  }

  /** Sorted by DCID. The rows are live: treat them as read-only. */
  all(): readonly SimulatedStudent[] {
    return this.rows;
  }

  get(dcid: number): SimulatedStudent | undefined {
    return this.byDcid.get(dcid);
  }

  add(partial: Partial<SimulatedStudent> = {}): SimulatedStudent {
    const dcid = partial.dcid ?? (this.rows.at(-1)?.dcid ?? FIRST_DCID - 1) + 1;
    if (this.byDcid.has(dcid)) throw new Error(`a student with DCID ${dcid} exists`);
    const base = generateStudent(this.random, dcid, this.schoolYearEnd, this.schools);
    if (partial.grade_level !== undefined && partial.sched_yearofgraduation === undefined)
      base.sched_yearofgraduation = this.schoolYearEnd + (12 - partial.grade_level);
    const student: SimulatedStudent = { ...base, ...partial, dcid };
    const at = this.insertionIndex(dcid);
    this.rows.splice(at, 0, student);
    this.byDcid.set(dcid, student);
    this.changed();
    return student;
  }

  update(dcid: number, patch: Partial<Omit<SimulatedStudent, 'dcid'>>): SimulatedStudent | undefined {
    const student = this.byDcid.get(dcid);
    if (!student) return undefined;
    const { dcid: _ignored, ...rest } = patch as Partial<SimulatedStudent>;
    Object.assign(student, rest);
    this.changed();
    return student;
  }

  remove(dcid: number): boolean {
    if (!this.byDcid.delete(dcid)) return false;
    this.rows.splice(this.insertionIndex(dcid), 1);
    this.changed();
    return true;
  }

  /**
   * A filtered and sorted view, computed once per key until the next change. `key` must identify
   * the filter and sort completely (the raw q and sort parameters do).
   */
  view(
    key: string,
    predicate: (s: SimulatedStudent) => boolean,
    compare?: (a: SimulatedStudent, b: SimulatedStudent) => number,
  ): readonly SimulatedStudent[] {
    let view = this.views.get(key);
    if (!view) {
      view = this.rows.filter(predicate);
      this.built++;
      if (compare) view.sort(compare);
      if (this.views.size > 64) this.views.clear(); // bounded: a handful of scopes in practice
      this.views.set(key, view);
    }
    return view;
  }

  /** How many views were computed (the cache's misses). */
  get viewsBuilt(): number {
    return this.built;
  }

  private changed(): void {
    this.views.clear();
  }

  /** First index whose DCID is ≥ dcid (binary search). */
  private insertionIndex(dcid: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid]!.dcid < dcid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
