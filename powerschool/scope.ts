// The `q` filters the client sends: which students a school syncs, where a keyset read resumes, and DCID ranges.

/**
 * Grades to read, inclusive (−2 … 12), and the PowerSchool school numbers (SCHOOLS.SCHOOL_NUMBER =
 * STUDENTS.SCHOOLID) to read them from; omitted or empty: every school the plugin sees. Only active
 * students (enroll_status 0) are read.
 */
export interface StudentScope {
  gradeFrom: number;
  gradeTo: number;
  schools?: readonly number[];
}

function checkScope(scope: StudentScope): void {
  for (const [name, value] of [
    ['gradeFrom', scope.gradeFrom],
    ['gradeTo', scope.gradeTo],
  ] as const)
    if (!Number.isInteger(value)) throw new RangeError(`scope.${name} must be an integer`);
  for (const school of scope.schools ?? [])
    if (!Number.isInteger(school) || school < 1) throw new RangeError('scope.schools must hold school numbers ≥ 1');
}

/**
 * PowerSchool's `q` has no documented OR, so a scope of several schools is read as one keyset pass
 * per school: these are the passes, each a scope of one school (or the whole scope when it names
 * no school).
 */
export function schoolPasses(scope: StudentScope): StudentScope[] {
  const schools = scope.schools ?? [];
  return schools.length === 0 ? [scope] : schools.map((school) => ({ ...scope, schools: [school] }));
}

/** The `q` filter for a scope of at most one school: active students within the grades (and the school). */
export function scopeQuery(scope: StudentScope): string {
  checkScope(scope);
  const schools = scope.schools ?? [];
  if (schools.length > 1) throw new RangeError('a query reads one school at a time (see schoolPasses)');
  const base = `grade_level=ge=${scope.gradeFrom};grade_level=le=${scope.gradeTo};enroll_status==0`;
  return schools.length === 1 ? `${base};schoolid==${schools[0]}` : base;
}

const DCID = /^\d{1,18}$/;

/** The scope's filter narrowed to DCIDs above `afterDcid` (null: from the start). */
export function afterDcidQuery(scope: StudentScope, afterDcid: string | null): string {
  if (afterDcid !== null && !DCID.test(afterDcid)) throw new RangeError('afterDcid must be a DCID');
  return afterDcid === null ? scopeQuery(scope) : `${scopeQuery(scope)};dcid=gt=${afterDcid}`;
}

/** Which records of a range to read: all, or only those not enrolled (status above or below 0). */
export type EnrolmentFilter = 'all' | 'status-above-0' | 'status-below-0';

const ENROLMENT_FILTERS: Record<EnrolmentFilter, string> = {
  all: '',
  'status-above-0': ';enroll_status=gt=0',
  'status-below-0': ';enroll_status=lt=0',
};

/**
 * Student records (no scope filter) with a DCID in `from`…`to`, above `afterDcid` when given: the
 * query has no IN, so several DCIDs are read as a range; nor has it "not equal", so the records
 * that are not enrolled are two filters.
 */
export function dcidRangeQuery(
  from: string,
  to: string,
  afterDcid: string | null,
  filter: EnrolmentFilter = 'all',
): string {
  for (const dcid of [from, to, ...(afterDcid === null ? [] : [afterDcid])])
    if (!DCID.test(dcid)) throw new RangeError('DCID range bounds must be DCIDs');
  const range = `dcid=ge=${from};dcid=le=${to}${ENROLMENT_FILTERS[filter]}`;
  return afterDcid === null ? range : `${range};dcid=gt=${afterDcid}`;
}
