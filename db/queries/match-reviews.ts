// Match reviews: a school's list, and a person's resolve and reopen (the next commit applies them).
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { MatchResolutionAction, MatchReview, MatchReviewStatus } from '../types.js';
import { listStudentsByIds, type Page, type StudentListRow } from './listings.js';

export type ReviewWithCandidates = MatchReview & { candidates: StudentListRow[] };

/** A school's reviews in id order (the order they were opened), with their candidates as Students. */
export async function listMatchReviews(
  db: Db,
  schoolId: string,
  opts: { limit: number; status?: MatchReviewStatus; afterId?: string },
): Promise<Page<ReviewWithCandidates>> {
  let q = db.selectFrom('match_reviews').selectAll().where('school_id', '=', schoolId);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.afterId !== undefined) q = q.where('id', '>', opts.afterId);
  const rows = await q
    .orderBy('id', 'asc')
    .limit(opts.limit + 1)
    .execute();
  const shown = rows.slice(0, opts.limit);
  return { items: await withCandidates(db, schoolId, shown), hasMore: rows.length > opts.limit };
}

async function withCandidates(db: Db, schoolId: string, reviews: MatchReview[]): Promise<ReviewWithCandidates[]> {
  const students = await listStudentsByIds(db, schoolId, [...new Set(reviews.flatMap((r) => r.candidate_ids))]);
  const byId = new Map(students.map((s) => [s.id, s]));
  return reviews.map((r) => ({
    ...r,
    candidates: r.candidate_ids.flatMap((id) => {
      const s = byId.get(id);
      return s ? [s] : [];
    }),
  }));
}

export type Resolution = { action: 'link'; studentId: string } | { action: Exclude<MatchResolutionAction, 'link'> };

export type ResolveOutcome =
  | { outcome: 'resolved'; review: ReviewWithCandidates }
  | { outcome: 'not_found' }
  | { outcome: 'already_resolved' }
  /** A link to a student that is not an unlinked student of the school. */
  | { outcome: 'student_not_unlinked' };

export async function resolveMatchReview(
  db: Db,
  schoolId: string,
  reviewId: string,
  resolution: Resolution,
): Promise<ResolveOutcome> {
  return db.transaction().execute(async (tx) => {
    const review = await tx
      .selectFrom('match_reviews')
      .select(['id', 'status'])
      .where('school_id', '=', schoolId)
      .where('id', '=', reviewId)
      .forUpdate()
      .executeTakeFirst();
    if (!review) return { outcome: 'not_found' };
    if (review.status === 'resolved') return { outcome: 'already_resolved' };
    if (resolution.action === 'link') {
      const student = await tx
        .selectFrom('students')
        .select('id')
        .where('school_id', '=', schoolId)
        .where('id', '=', resolution.studentId)
        .where('status', '=', 'unlinked')
        .executeTakeFirst();
      if (!student) return { outcome: 'student_not_unlinked' };
    }
    const updated = await tx
      .updateTable('match_reviews')
      .set({
        status: 'resolved',
        resolution_action: resolution.action,
        resolution_student_id: resolution.action === 'link' ? resolution.studentId : null,
        updated_at: sql`now()`,
      })
      .where('id', '=', reviewId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const [withStudents] = await withCandidates(tx, schoolId, [updated]);
    return { outcome: 'resolved', review: withStudents! };
  });
}

/** Open again, resolution cleared; an open review stays as it is. Undefined: no such review of the school. */
export async function reopenMatchReview(
  db: Db,
  schoolId: string,
  reviewId: string,
): Promise<ReviewWithCandidates | undefined> {
  const row = await db
    .updateTable('match_reviews')
    .set({ status: 'open', resolution_action: null, resolution_student_id: null, updated_at: sql`now()` })
    .where('school_id', '=', schoolId)
    .where('id', '=', reviewId)
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  const [review] = await withCandidates(db, schoolId, [row]);
  return review;
}
