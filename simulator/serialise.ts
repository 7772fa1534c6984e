// How the simulator writes a student row, with the value variations real servers show.
import type { SimulatedStudent, StudentColumn } from './students.js';

/**
 * How the simulator writes a student, with the variations real servers show. Which variant a
 * student gets depends only on its DCID, so answers are reproducible:
 * - values are strings, except for some students whose numeric columns come as JSON numbers;
 * - some student numbers come as "1234.0";
 * - an empty value is left out, null or "" (a third of students each).
 */

const NUMERIC: ReadonlySet<StudentColumn> = new Set([
  'dcid',
  'id',
  'grade_level',
  'sched_yearofgraduation',
  'enroll_status',
  'schoolid',
]);

function tableRow(s: SimulatedStudent, projection: readonly StudentColumn[]): Record<string, unknown> {
  const numbersAsNumbers = s.dcid % 11 === 5;
  const emptyStyle = s.dcid % 3; // 0: absent, 1: null, 2: ""
  const row: Record<string, unknown> = {};
  for (const column of projection) {
    const value = s[column];
    if (value === null || value === '') {
      if (emptyStyle === 1) row[column] = null;
      else if (emptyStyle === 2) row[column] = '';
      continue;
    }
    if (column === 'student_number' && s.dcid % 7 === 3 && /^\d+$/.test(String(value))) row[column] = `${value}.0`;
    else if (numbersAsNumbers && NUMERIC.has(column) && typeof value === 'number') row[column] = value;
    else row[column] = String(value);
  }
  return row;
}

export function tableRecord(s: SimulatedStudent, projection: readonly StudentColumn[]) {
  return { id: s.dcid, name: 'Students', tables: { students: tableRow(s, projection) } };
}
