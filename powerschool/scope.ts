// The `q` filters the client sends: which students a school syncs, and where a keyset read resumes.

/** Grades to read, inclusive (−2 … 12). Only active students (enroll_status 0) are read. */
export interface StudentScope {
  gradeFrom: number;
  gradeTo: number;
}

/** The `q` filter for a scope: active students within the grades. */
export function scopeQuery(scope: StudentScope): string {
  for (const [name, value] of Object.entries(scope))
    if (!Number.isInteger(value)) throw new RangeError(`scope.${name} must be an integer`);
  return `grade_level=ge=${scope.gradeFrom};grade_level=le=${scope.gradeTo};enroll_status==0`;
}

/** The scope's filter narrowed to DCIDs above `afterDcid` (null: from the start). */
export function afterDcidQuery(scope: StudentScope, afterDcid: string | null): string {
  if (afterDcid !== null && !/^\d{1,18}$/.test(afterDcid)) throw new RangeError('afterDcid must be a DCID');
  return afterDcid === null ? scopeQuery(scope) : `${scopeQuery(scope)};dcid=gt=${afterDcid}`;
}
