// The zod schemas of every route: request validation, response serialisation and /openapi.json from one source.
import { z } from 'zod';
import { DEFAULT_SCHEDULE } from '../db/queries/integrations.js';
import { DEFAULT_SAFETY } from '../db/queries/safety-settings.js';
import { firstNameSchema, lastNameSchema } from '../powerschool/record-cells.js';
import { blackoutDateProblem, cronProblem, isIanaTimeZone } from './validation.js';

/**
 * Every body, param, query and response of the HTTP API (docs/api.md). The same schemas
 * validate requests and generate the OpenAPI document. Bodies are strict: unknown keys are a 400.
 */

export const SCHOOL_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const schoolIdSchema = z
  .string()
  .regex(SCHOOL_ID_PATTERN, 'must be 1–64 characters of A-Z a-z 0-9 _ -')
  .describe("Cialfo's school id");

/** A run id is a Temporal workflow id we made: letters, digits and `_ - : .`. */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,255}$/, 'must be a run id')
  .describe('The run id (its Temporal workflow id)');

export const schoolParams = z.strictObject({ schoolId: schoolIdSchema });
export const runParams = z.strictObject({ schoolId: schoolIdSchema, runId: runIdSchema });

const limitSchema = z
  .string()
  .regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be an integer from 1 to 100').max(100, 'must be an integer from 1 to 100'))
  .optional()
  .describe('Page size, 1–100 (default 20)');
const cursorSchema = z.string().min(1).max(512).optional().describe('Opaque cursor from a previous nextCursor');

export const pageQuery = z.object({ limit: limitSchema, cursor: cursorSchema });
export const CHANGE_TYPES = ['create', 'update', 'depart', 'link'] as const;

export const changesQuery = pageQuery.extend({
  type: z.enum(CHANGE_TYPES).optional().describe('Only changes of this type'),
});

export const STUDENT_STATUSES = ['active', 'departed', 'unlinked'] as const;

export const studentsQuery = pageQuery.extend({
  status: z.enum(STUDENT_STATUSES).optional().describe('Only students with this status'),
});

// ---------------------------------------------------------------- integration settings (PUT body)

const gradeSchema = z.int().min(-2).max(12).describe('−2, −1 pre-K; 0 kindergarten; 1–12');

const blackoutDate = z
  .string()
  .superRefine((d, ctx) => {
    const problem = blackoutDateProblem(d);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('YYYY-MM-DD');

const percentSchema = z.number().min(0).max(100);

const safetySchema = z
  .strictObject({
    enabled: z.boolean().default(DEFAULT_SAFETY.enabled),
    maxDepartedPercent: percentSchema
      .default(DEFAULT_SAFETY.maxDepartedPercent)
      .describe('Hold a commit that would mark more than this share of the active students departed'),
    maxUpdatedPercent: percentSchema
      .default(DEFAULT_SAFETY.maxUpdatedPercent)
      .describe('Hold a commit that would update more than this share of the active students'),
    minStudents: z
      .int()
      .min(0)
      .max(100000)
      .default(DEFAULT_SAFETY.minStudents)
      .describe('Schools with fewer active students are never held'),
    holdDays: z
      .int()
      .min(1)
      .max(30)
      .default(DEFAULT_SAFETY.holdDays)
      .describe('Days a held run waits, then is discarded'),
  })
  .default({ ...DEFAULT_SAFETY })
  .describe('When a commit waits for a person to approve or discard it');

const blackoutSchema = z
  .strictObject({ from: blackoutDate, to: blackoutDate })
  .refine((b) => b.from <= b.to, { path: ['to'], message: 'must be on or after from' });

export const integrationBody = z
  .strictObject({
    powerschool: z.strictObject({
      serverUrl: z
        .string()
        .min(1)
        .max(2048)
        .describe('https origin of the PowerSchool server, e.g. https://district.powerschool.com'),
      clientId: z.string().min(1).max(256),
      clientSecret: z
        .string()
        .min(1)
        .max(1024)
        .optional()
        .describe('Required on create; omitted on replace keeps the stored one. Never returned.'),
      schools: z
        .array(z.int().min(1).max(2_147_483_647))
        .max(50)
        .refine((numbers) => new Set(numbers).size === numbers.length, 'must not repeat a school number')
        .default([])
        .describe(
          'PowerSchool school numbers (SCHOOLS.SCHOOL_NUMBER) to sync; [] (the default): every school the plugin sees',
        ),
    }),
    active: z.boolean().default(false),
    testRun: z.boolean().default(true),
    notifications: z
      .strictObject({
        enabled: z.boolean().default(false),
        recipients: z.array(z.email().max(254)).max(20).default([]),
      })
      .superRefine((n, ctx) => {
        if (n.enabled && n.recipients.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['recipients'], message: 'needs 1–20 recipients when enabled' });
        }
      })
      .default({ enabled: false, recipients: [] }),
    grades: z
      .strictObject({ from: gradeSchema, to: gradeSchema })
      .refine((g) => g.from <= g.to, { path: ['to'], message: 'must be greater than or equal to grades.from' }),
    mapping: z
      .strictObject({
        powerschoolId: z.enum(['DCID', 'STUDENT_NUMBER']).default('DCID'),
        dateOfBirth: z.boolean().default(false),
        gender: z.boolean().default(false),
        gradeLevel: z.boolean().default(false).describe("Sync GRADE_LEVEL into the student's gradeLevel"),
      })
      .default({ powerschoolId: 'DCID', dateOfBirth: false, gender: false, gradeLevel: false }),
    matching: z
      .strictObject({ enabled: z.boolean().default(true) })
      .default({ enabled: true })
      .describe("Match new PowerSchool records against the school's imported (unlinked) accounts"),
    schedule: z
      .strictObject({
        cron: z
          .string()
          .max(200)
          .default(DEFAULT_SCHEDULE.cron)
          .superRefine((c, ctx) => {
            const problem = cronProblem(c);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .describe('5-field cron line'),
        timezone: z
          .string()
          .max(64)
          .default(DEFAULT_SCHEDULE.timezone)
          .refine(isIanaTimeZone, 'must be an IANA time zone such as Asia/Singapore')
          .describe('IANA time zone'),
      })
      .default({ ...DEFAULT_SCHEDULE }),
    blackouts: z
      .array(blackoutSchema)
      .max(10)
      .default([])
      .describe(
        "Dates (inclusive, in the schedule's time zone) with no scheduled run; ranges wholly in the past are dropped on write",
      ),
    safety: safetySchema,
  })
  .describe('Integration settings');

/** Bodies of action routes: nothing, or an empty object (Fastify hands us null for no body). */
export const emptyBody = z.strictObject({}).nullish();

export const startRunBody = z
  .strictObject({
    testRun: z.boolean().optional().describe("Overrides the integration's testRun for this run"),
  })
  .nullish();

// ---------------------------------------------------------------- responses

const isoDate = z.string().describe('ISO 8601 timestamp');

const countsSchema = z.object({
  fetched: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  invalid: z.number(),
  missing: z.number(),
  departed: z.number().describe("This run's depart changes"),
  linked: z.number().describe('Imported accounts linked to a PowerSchool record'),
  needsReview: z.number().describe('New records waiting for a match review'),
});

const holdSchema = z
  .object({
    reasons: z.array(
      z.object({
        code: z.enum(['TOO_MANY_DEPARTURES', 'TOO_MANY_UPDATES']),
        count: z.number(),
        base: z.number().describe('Active students when the diff was computed'),
        percent: z.number().describe('count / base, rounded to 0.1'),
        limit: z.number(),
      }),
    ),
    heldAt: isoDate,
    expiresAt: isoDate.describe('When the run is discarded (HOLD_EXPIRED) unless approved or discarded first'),
  })
  .nullable()
  .describe('Why a commit was held; null on runs that were never held');

export const runSummarySchema = z.object({
  id: z.string(),
  schoolId: z.string(),
  trigger: z.enum(['schedule', 'manual']),
  testRun: z.boolean(),
  status: z.enum(['running', 'held', 'succeeded', 'failed', 'cancelled', 'skipped', 'discarded']),
  startedAt: isoDate,
  finishedAt: isoDate.nullable(),
  counts: countsSchema,
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  notification: z.object({
    status: z.enum(['disabled', 'pending', 'sent', 'failed']),
    messageId: z.string().nullable(),
  }),
  temporal: z.object({ workflowId: z.string(), runId: z.string().nullable(), uiUrl: z.string() }),
  hold: holdSchema,
});

export const runSchema = runSummarySchema.extend({
  progress: z.object({
    pagesFetched: z.number(),
    pagesTotal: z.number().nullable(),
    recordsFetched: z.number(),
    recordsTotal: z.number().nullable(),
  }),
});

export const integrationResponse = z.object({
  schoolId: z.string(),
  powerschool: z.object({
    serverUrl: z.string(),
    clientId: z.string(),
    clientSecretSet: z.boolean(),
    schools: z.array(z.number()),
  }),
  active: z.boolean(),
  testRun: z.boolean(),
  notifications: z.object({ enabled: z.boolean(), recipients: z.array(z.string()) }),
  grades: z.object({ from: z.number(), to: z.number() }),
  mapping: z.object({
    powerschoolId: z.enum(['DCID', 'STUDENT_NUMBER']),
    dateOfBirth: z.boolean(),
    gender: z.boolean(),
    gradeLevel: z.boolean(),
  }),
  matching: z.object({ enabled: z.boolean() }),
  schedule: z.object({
    cron: z.string(),
    timezone: z.string(),
    paused: z.boolean(),
    nextRunAt: isoDate.nullable(),
    lastDueAt: isoDate
      .nullable()
      .describe(
        'The latest nominal (unjittered) fire time up to now since the integration was created, blackouts excluded',
      ),
    lastDueRunId: z
      .string()
      .nullable()
      .describe(
        'The run the schedule started for lastDueAt; null when none ran (overlap, paused, missed) or it ended skipped',
      ),
    pauseNote: z.string().nullable().describe('The note of the bulk pause that paused the school'),
  }),
  blackouts: z.array(z.object({ from: z.string(), to: z.string() })),
  safety: z.object({
    enabled: z.boolean(),
    maxDepartedPercent: z.number(),
    maxUpdatedPercent: z.number(),
    minStudents: z.number(),
    holdDays: z.number(),
  }),
  createdAt: isoDate,
  updatedAt: isoDate,
  lastRun: runSummarySchema.nullable(),
});

export const testConnectionResponse = z.object({ ok: z.literal(true), studentsInScope: z.number() });

export const powerschoolSchoolsResponse = z.object({
  schools: z.array(
    z.object({
      schoolNumber: z.number(),
      name: z.string().nullable().describe('null: a stored school number PowerSchool does not list'),
      lowGrade: z.number().nullable(),
      highGrade: z.number().nullable(),
      selected: z.boolean(),
    }),
  ),
});

const nextCursor = z.string().nullable();

export const runsPage = z.object({ runs: z.array(runSummarySchema), nextCursor });

export const heldRunsQuery = pageQuery.extend({
  status: z.enum(['held']).default('held').describe('Which runs: held (the only value, and the default)'),
});

export const changesPage = z.object({
  changes: z.array(
    z.object({
      powerschoolId: z.string().nullable(),
      type: z.enum(CHANGE_TYPES),
      before: z.record(z.string(), z.unknown()).nullable(),
      after: z.record(z.string(), z.unknown()),
    }),
  ),
  nextCursor,
});

export const issuesPage = z.object({
  issues: z.array(
    z.object({
      dcid: z.string(),
      powerschoolId: z.string().nullable(),
      field: z.string(),
      code: z.string(),
      message: z.string(),
      skipped: z.boolean(),
    }),
  ),
  nextCursor,
});

export const studentSchema = z.object({
  id: z.string(),
  schoolId: z.string(),
  powerschoolId: z.string().nullable(),
  dcid: z.string().nullable().describe('Null while the student is an unlinked imported account'),
  studentNumber: z.string().nullable(),
  firstName: z.string(),
  lastName: z.string(),
  graduationYear: z.number().nullable(),
  dateOfBirth: z.string().nullable(),
  gender: z.string().nullable(),
  gradeLevel: z.number().nullable(),
  schoolNumber: z.number().nullable().describe('The PowerSchool school the student was last seen in'),
  status: z.enum(STUDENT_STATUSES),
  departedAt: isoDate.nullable(),
  departureReason: z.enum(['graduated', 'transferred', 'inactive', 'out_of_scope', 'not_found']).nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  lastSeenRunId: z.string().nullable(),
  externalId: z.string().nullable().describe("Cialfo's id of an imported account; null for students the sync created"),
});

export const studentsPage = z.object({ students: z.array(studentSchema), nextCursor });

// ---------------------------------------------------------------- bulk pause / resume

const bulkSchoolIds = z
  .array(schoolIdSchema)
  .min(1, 'must name 1–1000 schools')
  .max(1000, 'must name 1–1000 schools')
  .describe('The schools to act on');
const bulkAll = z.literal(true).describe('Every school (resume: only those a bulk pause paused)');

/** Exactly one of `schoolIds` and `all`. */
function oneTarget(b: { schoolIds?: string[]; all?: true }, ctx: z.RefinementCtx) {
  if ((b.schoolIds === undefined) === (b.all === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['schoolIds'], message: 'give either schoolIds or all: true' });
  }
}

export const bulkPauseBody = z
  .strictObject({
    schoolIds: bulkSchoolIds.optional(),
    all: bulkAll.optional(),
    note: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .optional()
      .describe('Why (e.g. "summer break"); shown as schedule.pauseNote'),
  })
  .superRefine(oneTarget);

export const bulkResumeBody = z
  .strictObject({ schoolIds: bulkSchoolIds.optional(), all: bulkAll.optional() })
  .superRefine(oneTarget);

export const bulkPauseResponse = z.object({ paused: z.number(), notFound: z.array(z.string()) });
export const bulkResumeResponse = z.object({ resumed: z.number(), notFound: z.array(z.string()) });

// ---------------------------------------------------------------- existing accounts (matching)

export const IMPORT_MAX_STUDENTS = 1000;

const calendarDate = z
  .string()
  .superRefine((d, ctx) => {
    if (blackoutDateProblem(d)) ctx.addIssue({ code: 'custom', message: 'must be a real calendar date, YYYY-MM-DD' });
  })
  .describe('YYYY-MM-DD');

/** Names are normalised as synced names are (powerschool/record-cells.ts), so both sides compare alike. */
function syncedName(schema: typeof firstNameSchema) {
  return z
    .string()
    .max(200)
    .transform((value, ctx) => {
      const parsed = schema.safeParse(value);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'is not a name' });
      return z.NEVER;
    });
}

const importedAccount = z.strictObject({
  externalId: z.string().min(1).max(64).describe("Cialfo's id of the account, unique per school"),
  firstName: syncedName(firstNameSchema),
  lastName: syncedName(lastNameSchema),
  dateOfBirth: calendarDate.nullable().default(null),
  graduationYear: z.int().min(1900).max(2100).nullable().default(null),
});

export const importStudentsBody = z
  .strictObject({
    students: z
      .array(importedAccount)
      .min(1, `must hold 1–${IMPORT_MAX_STUDENTS} accounts`)
      .max(IMPORT_MAX_STUDENTS, `must hold 1–${IMPORT_MAX_STUDENTS} accounts`),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.students.forEach((s, i) => {
      if (seen.has(s.externalId)) {
        ctx.addIssue({ code: 'custom', path: ['students', i, 'externalId'], message: 'appears twice in this request' });
      }
      seen.add(s.externalId);
    });
  })
  .describe("The school's existing Cialfo accounts, imported as unlinked students");

export const importStudentsResponse = z.object({ imported: z.number(), updated: z.number(), unchanged: z.number() });

export const studentParams = schoolParams.extend({ studentId: z.uuid().describe('The student id') });

export const reviewParams = schoolParams.extend({
  reviewId: z
    .string()
    .regex(/^\d{1,18}$/, 'must be a review id')
    .describe('The review id'),
});

export const reviewsQuery = pageQuery.extend({
  status: z.enum(['open', 'resolved']).optional().describe('Only reviews in this status'),
});

export const resolveReviewBody = z
  .discriminatedUnion('action', [
    z.strictObject({ action: z.literal('link'), studentId: z.uuid().describe('An unlinked student of the school') }),
    z.strictObject({ action: z.literal('create') }),
    z.strictObject({ action: z.literal('ignore') }),
  ])
  .describe('link: this account is the record; create: a new student; ignore: neither, until reopened');

export const matchReviewSchema = z.object({
  id: z.string(),
  dcid: z.string(),
  powerschoolId: z.string().nullable(),
  record: z.object({
    firstName: z.string(),
    lastName: z.string(),
    dateOfBirth: z.string().nullable(),
    graduationYear: z.number().nullable(),
  }),
  candidates: z.array(studentSchema),
  status: z.enum(['open', 'resolved']),
  resolution: z.object({ action: z.enum(['link', 'create', 'ignore']), studentId: z.string().nullable() }).nullable(),
  runId: z.string().describe('The commit that opened or last refreshed the review'),
  createdAt: isoDate,
});

export const reviewsPage = z.object({ reviews: z.array(matchReviewSchema), nextCursor });
