// The diff's departures: which active students left scope and why (from the staged lookups), recorded and applied.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../types.js';
import { notReceivedInScope } from './departure-lookups.js';

type Tx = Transaction<Database>;

/** What a run reads: a record PowerSchool still has enrolled here is in scope, not departing. */
export interface DepartureScope {
  gradeFrom: number;
  gradeTo: number;
  /** Empty: every school. */
  schools: readonly number[];
}

export interface DepartureOptions {
  runId: string;
  schoolId: string;
  scope: DepartureScope;
  /** The student's JSON as run_changes records it (the diff's own shape). */
  studentJson: ReturnType<typeof sql>;
}

/**
 * The reason, from PowerSchool's own record of the DCID (`l`, read without the scope filter):
 * no record → not_found; ENROLL_STATUS 3 → graduated, 2 → transferred, any other non-zero →
 * inactive; still enrolled (0) but elsewhere → out_of_scope.
 */
const REASON = sql<string>`case
    when not l.found then 'not_found'
    when l.enroll_status = 3 then 'graduated'
    when l.enroll_status = 2 then 'transferred'
    when l.enroll_status is distinct from 0 then 'inactive'
    else 'out_of_scope' end`;

function inScopeAfterAll(scope: DepartureScope) {
  const schools = sql`${scope.schools.length === 0 ? sql`true` : sql`l.school_number = any(${[...scope.schools]}::int[])`}`;
  return sql<boolean>`(l.found and l.enroll_status = 0
    and l.grade_level between ${scope.gradeFrom} and ${scope.gradeTo} and ${schools})`;
}

/**
 * Records a `depart` change for each linked active student the run did not receive in scope and
 * that PowerSchool was asked about, unless its record is in scope after all (it moved mid-run).
 * A student nobody asked about (no lookup row) is left as it is: a reason is never guessed.
 */
export async function recordDepartChanges(tx: Tx, o: DepartureOptions): Promise<void> {
  await sql`
    insert into run_changes (run_id, dcid, type, before, after)
    select ${o.runId}, st.dcid, 'depart', ${o.studentJson},
           ${o.studentJson} || jsonb_build_object('status', 'departed', 'departureReason', ${REASON})
    from students st
    join run_departure_lookups l on l.run_id = ${o.runId} and l.dcid = st.dcid and l.looked_up
    where st.school_id = ${o.schoolId} and st.status = 'active' and st.dcid is not null
      and ${notReceivedInScope(o.runId)}
      and not ${inScopeAfterAll(o.scope)}
    on conflict (run_id, dcid) do nothing
  `.execute(tx);
}

/** Marks the recorded departures `departed`, with their reason. Nobody is deleted. */
export async function applyDepartChanges(tx: Tx, o: Pick<DepartureOptions, 'runId' | 'schoolId'>): Promise<void> {
  await sql`
    update students st set
      status = 'departed',
      departed_at = now(),
      departure_reason = c.after->>'departureReason',
      updated_at = now()
    from run_changes c
    where c.run_id = ${o.runId} and c.type = 'depart'
      and st.school_id = ${o.schoolId} and st.dcid = c.dcid and st.status = 'active'
  `.execute(tx);
}
