// The student columns a sync writes from a staged row (`s`): one list for updates and links alike.
import { sql } from 'kysely';

export interface SyncedFields {
  syncDateOfBirth: boolean;
  syncGender: boolean;
  syncGradeLevel?: boolean;
}

/**
 * `col = s.col,` for every field PowerSchool owns: the identifiers, names and class always, the
 * optional fields only when the school syncs them (otherwise the stored value stays), and the
 * school the student was last seen in. Ends with a comma: the caller's own assignments follow.
 */
export function syncedAssignments(o: SyncedFields) {
  return sql`student_number = s.student_number,
      first_name = s.first_name,
      last_name = s.last_name,
      graduation_year = s.graduation_year,
      ${o.syncDateOfBirth ? sql`date_of_birth = s.date_of_birth,` : sql``}
      ${o.syncGender ? sql`gender = s.gender,` : sql``}
      ${o.syncGradeLevel ? sql`grade_level = s.grade_level,` : sql``}
      school_number = s.school_number,`;
}
