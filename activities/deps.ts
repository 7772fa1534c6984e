// What the activities are built from: database, config, secrets, email sender, PowerSchool source, Temporal client.
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import type { EmailSender } from '../email/sender.js';
import type { Enrolment, EnrolmentFilter, PowerSchoolCredentials, StudentScope } from '../powerschool/client.js';
import type { PowerSchoolRequestObserver } from '../powerschool/request-outcome.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { Log } from '../logging/log.js';
import type { SyncMetrics } from './metrics.js';

/** What the activities need of PowerSchool: the client's reading methods (tests may wrap them). */
export interface StudentSource {
  getMaxPageSize(): Promise<number>;
  countStudents(scope: StudentScope): Promise<number>;
  /** Keyset paging: page numbers would miss students when others leave scope behind the read position. */
  fetchStudentsAfter(scope: StudentScope, afterDcid: string | null, pageSize: number): Promise<unknown[]>;
}

/**
 * Makes the PowerSchool an activity reads. `signal` aborts requests in flight when the activity is
 * cancelled or times out; `onRequest` is told the outcome of every request (the worker's metrics).
 */
export type SourceFactory<S> = (
  credentials: PowerSchoolCredentials,
  allowInsecure: boolean,
  signal?: AbortSignal,
  onRequest?: PowerSchoolRequestObserver,
) => S;

export type StudentSourceFactory = SourceFactory<StudentSource>;

/** What a departure lookup needs of PowerSchool: unscoped reads of DCID ranges. */
export interface DepartureSource {
  getMaxPageSize(): Promise<number>;
  fetchEnrolmentsInRange(
    range: { from: string; to: string },
    afterDcid: string | null,
    pageSize: number,
    filter?: EnrolmentFilter,
  ): Promise<{ rows: number; enrolments: Enrolment[] }>;
}

export type DepartureSourceFactory = SourceFactory<DepartureSource>;

/** pino fits. Activities log ids and counts only: never secrets, never student data. */

export interface ActivityDeps {
  db: Db;
  config: Pick<Config, 'temporal' | 'email' | 'allowInsecurePowerSchool'>;
  secretBox: SecretBox;
  emailSender: EmailSender;
  /**
   * Lets beginRun check whether the run holding a school's slot still has a live workflow (one
   * terminated behind our back would otherwise block the school for ever). Without it, a held
   * slot always means `skipped`.
   */
  temporalClient?: Client;
  /** Defaults to the real PowerSchoolClient. */
  powerschoolClientFactory?: StudentSourceFactory;
  /** The departure lookups' PowerSchool; defaults to the real PowerSchoolClient. */
  departureSourceFactory?: DepartureSourceFactory;
  logger?: Log;
  /** Reads pages of at most this many rows even when the server allows more (tests, tuning). */
  maxPageSize?: number;
  /**
   * A slot holder with no workflow in Temporal may be one the API has just claimed and not yet
   * started; it is released only once it is older than this. Default ABANDONED_RUN_GRACE_MS (services/run-slot.ts).
   */
  abandonedRunGraceMs?: number;
  /** The worker's metrics; without it nothing is counted. */
  metrics?: SyncMetrics;
}
