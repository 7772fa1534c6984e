// A school's existing Cialfo accounts: importing them as unlinked students, and unlinking a wrong link.
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import { matchKey } from '../../shared/match-key.js';

/** One account as the import route validated and normalised it. */
export interface ImportedAccount {
  externalId: string;
  firstName: string;
  lastName: string;
  dateOfBirth: string | null;
  graduationYear: number | null;
}

export interface ImportOutcome {
  imported: number;
  updated: number;
  unchanged: number;
}

/**
 * One statement for the whole batch, idempotent by externalId: a new one is inserted as an
 * `unlinked` student; an unlinked one with changed values is updated; a linked one, or one with
 * equal values, is left as it is. Accounts created or changed reopen the school's resolved
 * reviews whose record carries the same name keys (a person decided without this account), as
 * long as that record's DCID is still without a student.
 */
export async function importAccounts(db: Db, schoolId: string, accounts: ImportedAccount[]): Promise<ImportOutcome> {
  if (accounts.length === 0) return { imported: 0, updated: 0, unchanged: 0 };
  const { rows } = await sql<{ imported: number; updated: number }>`
    with input as (
      select * from unnest(
        ${accounts.map((a) => a.externalId)}::text[],
        ${accounts.map((a) => a.firstName)}::text[],
        ${accounts.map((a) => a.lastName)}::text[],
        ${accounts.map((a) => a.dateOfBirth)}::date[],
        ${accounts.map((a) => a.graduationYear)}::int[],
        ${accounts.map((a) => matchKey(a.firstName))}::text[],
        ${accounts.map((a) => matchKey(a.lastName))}::text[])
      as u(external_id, first_name, last_name, date_of_birth, graduation_year, first_name_key, last_name_key)
    ),
    written as (
      insert into students (school_id, external_id, first_name, last_name, date_of_birth, graduation_year,
                            first_name_key, last_name_key, status)
      select ${schoolId}, i.external_id, i.first_name, i.last_name, i.date_of_birth, i.graduation_year,
             i.first_name_key, i.last_name_key, 'unlinked'
      from input i
      on conflict (school_id, external_id) where external_id is not null do update set
        first_name = excluded.first_name,
        last_name = excluded.last_name,
        date_of_birth = excluded.date_of_birth,
        graduation_year = excluded.graduation_year,
        first_name_key = excluded.first_name_key,
        last_name_key = excluded.last_name_key,
        updated_at = now()
      where students.status = 'unlinked'
        and (students.first_name, students.last_name, students.date_of_birth, students.graduation_year)
            is distinct from (excluded.first_name, excluded.last_name, excluded.date_of_birth, excluded.graduation_year)
      returning (xmax = 0) as inserted, first_name_key, last_name_key
    ),
    reopened as (
      update match_reviews r set
        status = 'open', resolution_action = null, resolution_student_id = null, updated_at = now()
      from (select distinct first_name_key, last_name_key from written) w
      where r.school_id = ${schoolId} and r.status = 'resolved'
        and r.first_name_key = w.first_name_key and r.last_name_key = w.last_name_key
        and not exists (select 1 from students x where x.school_id = r.school_id and x.dcid = r.dcid)
      returning r.id
    )
    select (count(*) filter (where inserted))::int as imported,
           (count(*) filter (where not inserted))::int as updated,
           (select count(*) from reopened)::int as reopened
    from written
  `.execute(db);
  const r = rows[0]!;
  return { imported: r.imported, updated: r.updated, unchanged: accounts.length - r.imported - r.updated };
}

export type UnlinkOutcome = { outcome: 'unlinked' } | { outcome: 'not_found' } | { outcome: 'not_linked' };

/**
 * A wrong link undone: the account goes back to `unlinked` (same id and externalId, no DCID), and
 * its DCID gets an open review with the account as candidate, so the next commit neither links the
 * same pair again nor creates a duplicate before a person decides.
 */
export async function unlinkStudent(db: Db, schoolId: string, studentId: string): Promise<UnlinkOutcome> {
  return db.transaction().execute(async (tx) => {
    const student = await tx
      .selectFrom('students')
      .selectAll()
      .where('school_id', '=', schoolId)
      .where('id', '=', studentId)
      .forUpdate()
      .executeTakeFirst();
    if (!student) return { outcome: 'not_found' };
    if (!student.linked_by_match || student.status === 'unlinked' || student.dcid === null) {
      return { outcome: 'not_linked' };
    }
    const firstNameKey = matchKey(student.first_name);
    const lastNameKey = matchKey(student.last_name);
    await tx
      .updateTable('students')
      .set({
        status: 'unlinked',
        dcid: null,
        student_number: null,
        linked_by_match: false,
        first_name_key: firstNameKey,
        last_name_key: lastNameKey,
        updated_at: sql`now()`,
      })
      .where('id', '=', studentId)
      .execute();
    await tx
      .deleteFrom('departed_students')
      .where('school_id', '=', schoolId)
      .where('dcid', '=', student.dcid)
      .execute();
    const review = {
      student_number: student.student_number,
      first_name: student.first_name,
      last_name: student.last_name,
      date_of_birth: student.date_of_birth,
      graduation_year: student.graduation_year,
      first_name_key: firstNameKey,
      last_name_key: lastNameKey,
      candidate_ids: [studentId],
      status: 'open' as const,
      resolution_action: null,
      resolution_student_id: null,
      // The commit that linked it (or last wrote it).
      run_id: student.last_seen_run_id ?? '',
    };
    await tx
      .insertInto('match_reviews')
      .values({ school_id: schoolId, dcid: student.dcid, ...review })
      .onConflict((oc) => oc.columns(['school_id', 'dcid']).doUpdateSet({ ...review, updated_at: sql`now()` }))
      .execute();
    return { outcome: 'unlinked' };
  });
}
