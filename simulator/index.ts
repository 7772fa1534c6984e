import { randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { QueryError } from './query.js';
import { compileQuery, parseQuery, type Condition } from './query.js';
import { seededRandom, type Random } from './random.js';
import { tableRecord } from './serialise.js';
import {
  currentSchoolYearEnd,
  seedStudents,
  STUDENT_TABLE_COLUMNS,
  StudentStore,
  type SimulatedStudent,
  type StudentColumn,
} from './students.js';

/**
 * A PowerSchool look-alike for everything the client uses: OAuth client credentials, metadata,
 * the students table endpoint (projection, q, 1-based paging, sort, count, column grants) and fault
 * injection. Control endpoints under `/_simulator/`
 * (no OAuth) change students, faults and grants while a sync runs.
 *
 * Page size: a `pagesize` above the maximum is answered 400 (not clamped), so a client that
 * ignores metadata fails loudly instead of silently skipping students.
 */

export type { SimulatedStudent } from './students.js';

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

export type ScriptedFault = 'rate-limit' | 'error' | 'unavailable' | 'drop' | 'timeout' | 'unauthorized' | 'ok';

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
  seed?: number;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of issued tokens (default 30 days, as PowerSchool). */
  tokenLifetimeSeconds?: number;
  /** Maximum and default page size (default 100, like PowerSchool). */
  maxPageSize?: number;
  /** STUDENTS columns the plugin was granted (default: all). */
  grantedColumns?: string[];
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
  /** Revoke every issued token (the next data call gets 401). */
  revokeTokens(): void;
  students: {
    list(): SimulatedStudent[];
    get(dcid: number): SimulatedStudent | undefined;
    add(partial?: Partial<SimulatedStudent>): SimulatedStudent;
    update(dcid: number, patch: Partial<Omit<SimulatedStudent, 'dcid'>>): SimulatedStudent | undefined;
    remove(dcid: number): boolean;
    /** Active (enroll_status 0) students in the grades, sorted by DCID: what a sync should read. */
    inScope(gradeFrom: number, gradeTo: number): SimulatedStudent[];
  };
  close(): Promise<void>;
}

const DEFAULT_TOKEN_LIFETIME_S = 30 * 24 * 3600;
const HANG_LIMIT_MS = 60_000;
const MAX_REQUEST_LOG = 10_000;

interface IssuedToken {
  clientId: string;
  expiresAt: number;
  dataCalls: number;
}

const studentPatchSchema = z
  .object({
    dcid: z.number().int().positive(),
    id: z.number().int(),
    student_number: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    dob: z.string().nullable(),
    gender: z.string().nullable(),
    grade_level: z.number().int(),
    sched_yearofgraduation: z.number().int(),
    enroll_status: z.number().int(),
    schoolid: z.number().int(),
  })
  .partial()
  .strict();

const faultsSchema = z
  .object({
    errorRate: z.number().min(0).max(1),
    rateLimitRate: z.number().min(0).max(1),
    retryAfterSeconds: z.number().min(0),
    latencyMs: z.number().min(0),
    dropRate: z.number().min(0).max(1),
    tokenExpiresEveryRequests: z.number().int().min(1),
    timeoutPages: z.array(z.number().int().min(1)),
    next: z.array(z.enum(['rate-limit', 'error', 'unavailable', 'drop', 'timeout', 'unauthorized', 'ok'])),
  })
  .partial()
  .strict();

function validationFailed(fields: string[], code: string) {
  return {
    message: 'Validation Failed',
    errors: fields.map((f) => ({ resource: 'students', field: `students.${f}`, code })),
  };
}

function secretEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const clientId = options.clientId ?? 'powerschool-simulator-client';
  const clientSecret = options.clientSecret ?? `simulator-secret-${seed}`;
  const tokenLifetimeMs = (options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_S) * 1000;
  const maxPageSize = options.maxPageSize ?? 100;
  const schoolYearEnd = options.schoolYearEnd ?? currentSchoolYearEnd();
  const store = new StudentStore(
    seedStudents({
      count: options.students ?? 1000,
      seed,
      schoolYearEnd,
      ...(options.malformedShare !== undefined ? { malformedShare: options.malformedShare } : {}),
    }),
    seed,
    schoolYearEnd,
  );
  let granted = new Set((options.grantedColumns ?? STUDENT_TABLE_COLUMNS).map((c) => c.toLowerCase()));
  let faults: SimulatorFaults = {};
  let hungPages = new Set<number>();
  const faultRandom: Random = seededRandom(options.faultSeed ?? seed + 1);
  const tokens = new Map<string, IssuedToken>();
  const hangTimers = new Set<NodeJS.Timeout>();
  const stats: SimulatorStats = {
    requests: 0,
    tokenRequests: 0,
    dataRequests: 0,
    maxConcurrent: 0,
    faults: { errors: 0, rateLimited: 0, dropped: 0, hung: 0, revokedTokens: 0 },
  };
  let inFlight = 0;
  const requestLog: SimulatorRequest[] = [];

  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  // Count PowerSchool API requests and how many are in flight at once (politeness tests).
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url;
    if (!path.startsWith('/ws/') && !path.startsWith('/oauth/')) return;
    stats.requests++;
    if (path.startsWith('/ws/')) stats.dataRequests++;
    else stats.tokenRequests++;
    inFlight++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, inFlight);
    const entry: SimulatorRequest = { method: request.method, path: path.split('?')[0]!, receivedAt: Date.now() };
    requestLog.push(entry);
    // Bounded, so a long benchmark against one simulator does not grow without end.
    if (requestLog.length > MAX_REQUEST_LOG) requestLog.splice(0, requestLog.length - MAX_REQUEST_LOG);
    reply.raw.once('finish', () => {
      entry.status = reply.raw.statusCode;
      entry.answeredAt = Date.now();
    });
    reply.raw.once('close', () => inFlight--);
  });

  // ---- OAuth ------------------------------------------------------------------------------------

  const issueToken = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const id = colon >= 0 ? decoded.slice(0, colon) : '';
    const secret = colon >= 0 ? decoded.slice(colon + 1) : '';
    const body = (request.body ?? {}) as Record<string, string>;
    if (body.grant_type !== 'client_credentials')
      return reply
        .code(400)
        .send({ error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    if (id !== clientId || !secretEquals(secret, clientSecret))
      return reply.code(401).send({ error: 'invalid_client', error_description: 'Bad client credentials' });
    // Like PowerSchool: asking again returns the live token with its remaining lifetime.
    const now = Date.now();
    let token = [...tokens.entries()].find(([, t]) => t.clientId === id && t.expiresAt > now + 1000);
    if (!token) {
      const value = randomUUID();
      const issued: IssuedToken = { clientId: id, expiresAt: now + tokenLifetimeMs, dataCalls: 0 };
      tokens.set(value, issued);
      token = [value, issued];
    }
    const remaining = Math.max(0, Math.floor((token[1].expiresAt - now) / 1000));
    return reply.send({
      access_token: token[0],
      token_type: 'Bearer',
      expires_in: options.expiresInAs === 'number' ? remaining : String(remaining),
    });
  };
  app.post('/oauth/access_token', issueToken);
  app.post('/oauth/access_token/', issueToken);

  // ---- Faults and auth for data calls -----------------------------------------------------------

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        hangTimers.delete(timer);
        resolve();
      }, ms);
      hangTimers.add(timer);
    });

  /** Applies faults and checks the bearer token; false when it has already answered. */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const f = faults;
    const scripted = f.next?.shift();
    if (f.latencyMs) await sleep(f.latencyMs);
    if (scripted === 'timeout') {
      await hang(request);
      reply.hijack();
      request.raw.socket.destroy();
      return false;
    }
    if (scripted === 'unauthorized') {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token", error_description="The access token expired"')
        .send({ message: 'Authentication failed' });
      return false;
    }
    if (scripted === 'drop' || (!scripted && f.dropRate && faultRandom() < f.dropRate)) {
      stats.faults.dropped++;
      reply.hijack();
      request.raw.socket.destroy();
      return false;
    }
    if (scripted === 'rate-limit' || (!scripted && f.rateLimitRate && faultRandom() < f.rateLimitRate)) {
      stats.faults.rateLimited++;
      const seconds = f.retryAfterSeconds ?? 1;
      void reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({ message: `Too many requests. Retry after ${seconds} seconds.` });
      return false;
    }
    if (scripted === 'unavailable') {
      stats.faults.errors++;
      const seconds = f.retryAfterSeconds ?? 1;
      void reply
        .code(503)
        .header('retry-after', String(seconds))
        .send({ message: 'Service Unavailable: down for maintenance' });
      return false;
    }
    if (scripted === 'error' || (!scripted && f.errorRate && faultRandom() < f.errorRate)) {
      stats.faults.errors++;
      const status = scripted ? 503 : [500, 502, 503][Math.floor(faultRandom() * 3)]!;
      void reply.code(status).send({ message: 'Internal Server Error' });
      return false;
    }
    const header = request.headers.authorization ?? '';
    const value = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const token = tokens.get(value);
    if (!token || token.expiresAt <= Date.now()) {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token", error_description="The access token expired"')
        .send({ message: 'Authentication failed' });
      return false;
    }
    token.dataCalls++;
    if (f.tokenExpiresEveryRequests && token.dataCalls > f.tokenExpiresEveryRequests) {
      stats.faults.revokedTokens++;
      tokens.delete(value);
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token", error_description="The access token expired"')
        .send({ message: 'Authentication failed' });
      return false;
    }
    return true;
  }

  /** Hangs until the client hangs up (or a minute passes): a page "timing out" once. */
  async function hang(request: FastifyRequest): Promise<void> {
    stats.faults.hung++;
    const socket = request.raw.socket;
    await Promise.race([sleep(HANG_LIMIT_MS), new Promise<void>((resolve) => socket.once('close', () => resolve()))]);
  }

  // ---- Metadata ---------------------------------------------------------------------------------

  app.get('/ws/v1/metadata', async (request, reply) => {
    if (!(await admit(request, reply))) return reply;
    return {
      metadata: {
        powerschool_version: '24.7.0.0',
        student_max_page_size: maxPageSize,
        schema_table_query_max_page_size: maxPageSize,
        school_max_page_size: maxPageSize,
        staff_max_page_size: maxPageSize,
        section_max_page_size: maxPageSize,
        course_max_page_size: maxPageSize,
        term_max_page_size: maxPageSize,
        state_reporting_enabled: false,
        plugin_id: 1,
      },
    };
  });

  // ---- Table endpoint ---------------------------------------------------------------------------

  type TableQuery = Record<string, string | undefined>;

  function scopedView(q: string | undefined, conditions: Condition[], sortParam?: string, descending?: boolean) {
    const sortColumns = (sortParam ?? 'dcid')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean) as StudentColumn[];
    const byDcid = sortColumns.length === 1 && sortColumns[0] === 'dcid' && !descending;
    const compare = byDcid
      ? undefined // the store is already in DCID order
      : (a: SimulatedStudent, b: SimulatedStudent) => {
          for (const c of sortColumns) {
            const x = a[c];
            const y = b[c];
            if (x === y) continue;
            if (x === null) return 1;
            if (y === null) return -1;
            const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
            if (order !== 0) return descending ? -order : order;
          }
          return a.dcid - b.dcid;
        };
    return store.view(
      `${q ?? ''}\u0000${sortColumns.join(',')}\u0000${descending ? 'd' : 'a'}`,
      compileQuery(conditions),
      compare,
    );
  }

  function pagingOf(query: TableQuery): { page: number; pageSize: number } | { error: string } {
    const page = query.page === undefined ? 1 : Number(query.page);
    const pageSize = query.pagesize === undefined ? maxPageSize : Number(query.pagesize);
    if (!Number.isInteger(page) || page < 1) return { error: `page must be an integer ≥ 1 (pages are 1-based)` };
    if (!Number.isInteger(pageSize) || pageSize < 1) return { error: 'pagesize must be a positive integer' };
    if (pageSize > maxPageSize)
      return { error: `pagesize ${pageSize} exceeds the maximum page size of ${maxPageSize}` };
    return { page, pageSize };
  }

  app.get('/ws/schema/table/students', async (request, reply) => {
    if (!(await admit(request, reply))) return reply;
    const query = request.query as TableQuery;
    const projection = (query.projection ?? '')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean);
    if (projection.length === 0) return reply.code(400).send({ message: 'A projection is required' });
    const unknown = projection.filter((c) => !(STUDENT_TABLE_COLUMNS as readonly string[]).includes(c));
    if (unknown.length) return reply.code(400).send(validationFailed(unknown, 'Invalid field'));
    const denied = projection.filter((c) => !granted.has(c));
    if (denied.length) return reply.code(403).send(validationFailed(denied, 'No access to the field'));
    const paging = pagingOf(query);
    if ('error' in paging) return reply.code(400).send({ message: paging.error });
    let conditions: Condition[];
    try {
      conditions = parseQuery(query.q);
    } catch (err) {
      return reply.code(400).send({ message: (err as QueryError).message });
    }
    const timeoutPages = faults.timeoutPages ?? [];
    if (timeoutPages.includes(paging.page) && !hungPages.has(paging.page)) {
      hungPages.add(paging.page);
      await hang(request);
      if (request.raw.socket.destroyed) {
        reply.hijack();
        return reply;
      }
    }
    const view = scopedView(query.q, conditions, query.sort, query.sortdescending === 'true');
    const start = (paging.page - 1) * paging.pageSize;
    const columns = projection as StudentColumn[];
    const record = view.slice(start, start + paging.pageSize).map((s) => tableRecord(s, columns));
    return { name: 'Students', record };
  });

  app.get('/ws/schema/table/students/count', async (request, reply) => {
    if (!(await admit(request, reply))) return reply;
    const query = request.query as TableQuery;
    try {
      return { count: scopedView(query.q, parseQuery(query.q)).length };
    } catch (err) {
      return reply.code(400).send({ message: (err as QueryError).message });
    }
  });

  // ---- Control endpoints (no OAuth) ---------------------------------------------------------------

  const simulatorStudents: Simulator['students'] = {
    list: () => store.all().map((s) => ({ ...s })),
    get: (dcid) => {
      const s = store.get(dcid);
      return s ? { ...s } : undefined;
    },
    add: (partial) => ({ ...store.add(partial) }),
    update: (dcid, patch) => {
      const s = store.update(dcid, patch);
      return s ? { ...s } : undefined;
    },
    remove: (dcid) => store.remove(dcid),
    inScope: (gradeFrom, gradeTo) =>
      store
        .all()
        .filter((s) => s.enroll_status === 0 && s.grade_level >= gradeFrom && s.grade_level <= gradeTo)
        .map((s) => ({ ...s })),
  };

  const dcidParam = (request: FastifyRequest) => Number((request.params as { dcid: string }).dcid);

  app.get('/_simulator/students', async (request) => {
    const { offset = '0', limit = '1000' } = request.query as Record<string, string>;
    const from = Math.max(0, Number(offset) || 0);
    const rows = store.all().slice(from, from + Math.min(10_000, Math.max(1, Number(limit) || 1000)));
    return { total: store.size, students: rows };
  });
  app.get('/_simulator/students/:dcid', async (request, reply) => {
    const s = store.get(dcidParam(request));
    return s ?? reply.code(404).send({ message: 'no such student' });
  });
  app.post('/_simulator/students', async (request, reply) => {
    const parsed = studentPatchSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    try {
      return reply.code(201).send(store.add(parsed.data));
    } catch (err) {
      return reply.code(409).send({ message: (err as Error).message });
    }
  });
  app.patch('/_simulator/students/:dcid', async (request, reply) => {
    const parsed = studentPatchSchema.omit({ dcid: true }).safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    return store.update(dcidParam(request), parsed.data) ?? reply.code(404).send({ message: 'no such student' });
  });
  app.delete('/_simulator/students/:dcid', async (request, reply) => {
    return store.remove(dcidParam(request))
      ? reply.code(204).send()
      : reply.code(404).send({ message: 'no such student' });
  });
  app.get('/_simulator/faults', async () => faults);
  app.put('/_simulator/faults', async (request, reply) => {
    const parsed = faultsSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    setFaults(parsed.data);
    return faults;
  });
  app.put('/_simulator/grants', async (request, reply) => {
    const parsed = z
      .object({ columns: z.array(z.string()) })
      .strict()
      .safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    granted = new Set(parsed.data.columns.map((c) => c.toLowerCase()));
    return { columns: [...granted] };
  });
  app.post('/_simulator/revoke-tokens', async () => {
    tokens.clear();
    return { ok: true };
  });
  app.get('/_simulator/stats', async () => ({ ...stats, students: store.size }));

  function setFaults(next: SimulatorFaults): void {
    faults = { ...next, ...(next.next ? { next: [...next.next] } : {}) };
    hungPages = new Set();
  }

  setFaults(options.faults ?? {});
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const url = address.replace('[::1]', 'localhost');

  return {
    url,
    clientId,
    clientSecret,
    requestCount: () => stats.requests,
    stats: () => structuredClone(stats),
    requestLog: () => requestLog.map((r) => ({ ...r })),
    setFaults,
    setGrantedColumns: (columns) => {
      granted = new Set(columns.map((c) => c.toLowerCase()));
    },
    revokeTokens: () => tokens.clear(),
    students: simulatorStudents,
    close: async () => {
      for (const timer of hangTimers) clearTimeout(timer);
      hangTimers.clear();
      await app.close();
    },
  };
}
