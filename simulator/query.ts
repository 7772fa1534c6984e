// PowerSchool's `q` filter, parsed and compiled into a predicate over simulated students.
import type { SimulatedStudent, StudentColumn } from './students.js';
import { STUDENT_TABLE_COLUMNS } from './students.js';

/**
 * PowerSchool's `q` filter: `column<op>value` clauses joined by `;` (AND). Operators `==`, `!=`,
 * `=gt=`, `=ge=`, `=lt=`, `=le=`; `*` is a wildcard in `==`/`!=` string comparisons; dates compare
 * as `YYYY-MM-DD` text. Numeric columns compare as numbers.
 */

type Operator = '==' | '!=' | 'gt' | 'ge' | 'lt' | 'le';

export interface Condition {
  column: StudentColumn;
  op: Operator;
  value: string;
}

export class QueryError extends Error {
  override name = 'QueryError';
}

const NUMERIC_COLUMNS = new Set<StudentColumn>([
  'dcid',
  'id',
  'grade_level',
  'sched_yearofgraduation',
  'enroll_status',
  'schoolid',
  'student_number',
]);
const CLAUSE = /^([A-Za-z_][A-Za-z0-9_.]*)(==|!=|=gt=|=ge=|=lt=|=le=)(.*)$/;

export function parseQuery(q: string | undefined): Condition[] {
  if (q === undefined || q.trim() === '') return [];
  return q.split(';').map((clause) => {
    const m = CLAUSE.exec(clause.trim());
    if (!m) throw new QueryError(`cannot parse the filter clause "${clause}"`);
    const name = m[1]!.toLowerCase();
    const bare = name.replace(/^students\./, '');
    const column: StudentColumn | undefined = STUDENT_TABLE_COLUMNS.find((c) => c === bare);
    if (!column) throw new QueryError(`unknown field ${name}`);
    const op = m[2]!.replace(/=/g, '') as string;
    return { column, op: (op === '' ? '==' : op === '!' ? '!=' : op) as Operator, value: m[3]! };
  });
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Builds one predicate for all conditions (compiled once per query, not per row). */
export function compileQuery(conditions: Condition[]): (s: SimulatedStudent) => boolean {
  const tests = conditions.map(({ column, op, value }) => {
    const numeric = NUMERIC_COLUMNS.has(column) && value.trim() !== '' && Number.isFinite(Number(value));
    const target = numeric ? Number(value) : value;
    const pattern = !numeric && value.includes('*') ? wildcard(value) : null;
    return (s: SimulatedStudent): boolean => {
      const raw = s[column];
      if (raw === null || raw === undefined) return op === '!=';
      const actual = numeric ? Number(raw) : String(raw);
      if (op === '==' || op === '!=') {
        const equal = pattern
          ? pattern.test(String(raw))
          : numeric
            ? actual === target
            : String(raw).toLowerCase() === value.toLowerCase();
        return op === '==' ? equal : !equal;
      }
      if (numeric && Number.isNaN(actual)) return false;
      if (op === 'gt') return actual > target;
      if (op === 'ge') return actual >= target;
      if (op === 'lt') return actual < target;
      return actual <= target;
    };
  });
  return (s) => tests.every((t) => t(s));
}
