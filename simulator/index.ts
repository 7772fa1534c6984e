// startSimulator: composes a PowerSchool look-alike (OAuth, data endpoints, faults, control API, stats) on one Fastify server.
import Fastify from 'fastify';
import { registerControlRoutes, studentsView } from './control.js';
import { FaultInjector } from './faults.js';
import { TokenIssuer } from './oauth.js';
import { RequestStats } from './stats.js';
import { SCHOOL_TABLE_COLUMNS, seedSchools } from './school-table.js';
import { registerSchoolRoutes } from './schools.js';
import {
  currentSchoolYearEnd,
  DEFAULT_SCHOOLS,
  seedStudents,
  STUDENT_TABLE_COLUMNS,
  StudentStore,
} from './students.js';
import { ColumnGrants, registerTableRoutes } from './table-routes.js';
import type { Simulator, SimulatorOptions } from './types.js';

export type * from './types.js';
export { existingAccountsFile } from './existing-accounts.js';

/**
 * Everything the client uses, as PowerSchool answers it: OAuth client credentials, metadata, the
 * students table endpoint (projection, q, 1-based paging, sort, count, column grants), plus fault
 * injection. Control endpoints under `/_simulator/` (no OAuth) change students, faults and grants
 * while a sync runs.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const clientId = options.clientId ?? 'powerschool-simulator-client';
  const clientSecret = options.clientSecret ?? `simulator-secret-${seed}`;
  const schoolYearEnd = options.schoolYearEnd ?? currentSchoolYearEnd();
  const schoolCount = options.schools ?? DEFAULT_SCHOOLS;
  const store = new StudentStore(
    seedStudents({
      count: options.students ?? 1000,
      seed,
      schoolYearEnd,
      schools: schoolCount,
      ...(options.malformedShare !== undefined ? { malformedShare: options.malformedShare } : {}),
    }),
    seed,
    schoolYearEnd,
    schoolCount,
  );
  const schools = seedSchools(schoolCount);
  const stats = new RequestStats();
  const tokens = new TokenIssuer({
    clientId,
    clientSecret,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    expiresInAs: options.expiresInAs,
  });
  const faults = new FaultInjector(options.faultSeed ?? seed + 1, tokens, stats.stats.faults);
  faults.set(options.faults ?? {});
  const grants = new ColumnGrants(options.grantedColumns ?? STUDENT_TABLE_COLUMNS);
  const schoolGrants = new ColumnGrants(options.grantedSchoolColumns ?? SCHOOL_TABLE_COLUMNS);

  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  stats.track(app);
  tokens.register(app);
  registerTableRoutes(app, { store, faults, grants, maxPageSize: options.maxPageSize ?? 100 });
  registerSchoolRoutes(app, { schools, faults, grants: schoolGrants, maxPageSize: options.maxPageSize ?? 100 });
  registerControlRoutes(app, { store, faults, grants, schoolGrants, tokens, stats });

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return {
    url: address.replace('[::1]', 'localhost'),
    clientId,
    clientSecret,
    requestCount: () => stats.stats.requests,
    stats: () => stats.snapshot(),
    requestLog: () => stats.requestLog(),
    setFaults: (next) => faults.set(next),
    setGrantedColumns: (columns) => grants.set(columns),
    setGrantedSchoolColumns: (columns) => schoolGrants.set(columns),
    schools,
    revokeTokens: () => tokens.revokeAll(),
    students: studentsView(store),
    close: async () => {
      faults.close();
      await app.close();
    },
  };
}
