import { startSimulator } from '../../simulator/index.js';

/**
 * The benchmark's PowerSchool simulator, as a child process (its CPU and memory are not the
 * measured process's). Every seeded student is made active, so the scope "grades −2…12" holds
 * exactly BENCH_SIM_STUDENTS students. Prints one `BENCH_SIMULATOR {json}` line when listening.
 */
const students = Number(process.env.BENCH_SIM_STUDENTS ?? 1000);
const seed = Number(process.env.BENCH_SIM_SEED ?? 1);
const maxPageSize = Number(process.env.BENCH_SIM_MAX_PAGE_SIZE ?? 100);

const simulator = await startSimulator({ port: 0, students, seed, maxPageSize, malformedShare: 0, logger: false });
for (const s of simulator.students.list()) {
  if (s.enroll_status !== 0) simulator.students.update(s.dcid, { enroll_status: 0 });
}
console.log(
  `BENCH_SIMULATOR ${JSON.stringify({ url: simulator.url, clientId: simulator.clientId, clientSecret: simulator.clientSecret })}`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void simulator.close().finally(() => process.exit(0));
  });
}
