// The simulator's public shapes: its options, fault settings, statistics and handle.
import type { LeaveKind } from './leavers.js';
import type { SimulatedSchool } from './school-table.js';
import type { SimulatedStudent } from './students.js';

export type { SimulatedStudent } from './students.js';
export type { SimulatedSchool } from './school-table.js';
export type { LeaveKind } from './leavers.js';

type ScriptedFault = 'rate-limit' | 'error' | 'unavailable' | 'drop' | 'timeout' | 'unauthorized' | 'ok';

export interface SimulatorFaults {
  /** Share (0..1) of data requests answered 500/502/503. */
  errorRate?: number;
  /** Share of data requests answered 429. */
  rateLimitRate?: number;
  /** Retry-After of those 429s (and of scripted `unavailable` 503s), in seconds (default 1). */
  retryAfterSeconds?: number;
  /** Added to every data request. */
  latencyMs?: number;
  /** Share of data requests whose socket is destroyed without an answer. */
  dropRate?: number;
  /** Each token serves this many data calls, then is revoked (401 "expired"). */
  tokenExpiresEveryRequests?: number;
  /** Pages of the table endpoint that hang (once each) until the client gives up. */
  timeoutPages?: number[];
  /**
   * Scripted faults for the next data requests, one per request, in order (deterministic tests):
   * `rate-limit` (429 + Retry-After), `error` (503), `unavailable` (503 + Retry-After), `drop`
   * (socket destroyed), `timeout` (hangs), `unauthorized` (401 as for an expired token), `ok` (no fault).
   */
  next?: ScriptedFault[];
}

/** One PowerSchool API request as the simulator saw it (control endpoints excluded). */
export interface SimulatorRequest {
  method: string;
  /** The path, without the query. */
  path: string;
  /** Date.now() when the request arrived. */
  receivedAt: number;
  /** The status answered, and Date.now() when the answer went out; absent while in flight or when dropped. */
  status?: number;
  answeredAt?: number;
}

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Seeded students (default 1000). */
  students?: number;
  /** Schools of the district (default 3), numbered 100, 200, …; students are spread over them. */
  schools?: number;
  seed?: number;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of issued tokens (default 30 days, as PowerSchool). */
  tokenLifetimeSeconds?: number;
  /** Maximum and default page size (default 100, like PowerSchool). */
  maxPageSize?: number;
  /** STUDENTS columns the plugin was granted (default: all). */
  grantedColumns?: string[];
  /** SCHOOLS columns the plugin was granted (default: all). */
  grantedSchoolColumns?: string[];
  /** 0..1: share of seeded records with one broken field. */
  malformedShare?: number;
  faults?: SimulatorFaults;
  faultSeed?: number;
  /** Calendar year the current school year ends in (default: from today's date). */
  schoolYearEnd?: number;
  /** Fastify request logging (default off). */
  logger?: boolean;
  /** How `expires_in` is written: a string of seconds like PowerSchool (default) or a number. */
  expiresInAs?: 'string' | 'number';
}

export interface SimulatorStats {
  /** Every PowerSchool API request (token + data), control endpoints excluded. */
  requests: number;
  tokenRequests: number;
  dataRequests: number;
  /** Most PowerSchool API requests seen in flight at once. */
  maxConcurrent: number;
  /** Faults injected so far, by kind. */
  faults: { errors: number; rateLimited: number; dropped: number; hung: number; revokedTokens: number };
}

/** Students as the control API and tests see them: copies, never the store's own objects. */
export interface SimulatorStudents {
  list(): SimulatedStudent[];
  get(dcid: number): SimulatedStudent | undefined;
  add(partial?: Partial<SimulatedStudent>): SimulatedStudent;
  update(dcid: number, patch: Partial<Omit<SimulatedStudent, 'dcid'>>): SimulatedStudent | undefined;
  remove(dcid: number): boolean;
  /**
   * Active (enroll_status 0) students in the grades (and in one of `schools`, when given), sorted
   * by DCID: what a sync should read.
   */
  inScope(gradeFrom: number, gradeTo: number, schools?: readonly number[]): SimulatedStudent[];
  /** The student leaves as PowerSchool records it (leavers.ts); false: no such student. */
  leave(dcid: number, kind: LeaveKind, toSchool?: number): boolean;
  /** Every enrolled student of the class (in `school`, when given) graduates; their DCIDs. */
  graduateClass(graduationYear: number, school?: number): number[];
  /** Filtered views the table has computed: one per scope and sort until the students change. */
  viewsBuilt(): number;
}

export interface Simulator {
  url: string;
  clientId: string;
  clientSecret: string;
  requestCount(): number;
  stats(): SimulatorStats;
  /** Every PowerSchool API request so far, oldest first (tests check the timing of retries). */
  requestLog(): SimulatorRequest[];
  setFaults(faults: SimulatorFaults): void;
  setGrantedColumns(columns: string[]): void;
  setGrantedSchoolColumns(columns: string[]): void;
  /** The SCHOOLS table: the district's schools and the graduates' school. */
  schools: SimulatedSchool[];
  /** Revoke every issued token (the next data call gets 401). */
  revokeTokens(): void;
  students: SimulatorStudents;
  close(): Promise<void>;
}
