// `npm run simulator`: starts a simulator from SIMULATOR_* variables and stops it on SIGINT/SIGTERM.
import { startSimulator } from './index.js';

/**
 * `npm run simulator`: a PowerSchool look-alike for demos and manual testing.
 * SIMULATOR_HOST (127.0.0.1), SIMULATOR_PORT (7070), SIMULATOR_STUDENTS (1000), SIMULATOR_SEED (1),
 * SIMULATOR_SCHOOLS (3).
 */

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`Configuration error: ${name}: must be an integer between ${min} and ${max}\n`);
    process.exit(78);
  }
  return value;
}

const host = process.env.SIMULATOR_HOST?.trim() || '127.0.0.1';
const port = intFromEnv('SIMULATOR_PORT', 7070, 0, 65535);
const students = intFromEnv('SIMULATOR_STUDENTS', 1000, 0, 2_000_000);
const seed = intFromEnv('SIMULATOR_SEED', 1, 0, 2 ** 31 - 1);
const schools = intFromEnv('SIMULATOR_SCHOOLS', 3, 1, 50);

const simulator = await startSimulator({ host, port, students, seed, schools, logger: false });
console.log(`PowerSchool simulator listening at ${simulator.url}`);
console.log(`  students:      ${students} (seed ${seed})`);
console.log(`  schools:       ${simulator.schools.map((s) => `${s.school_number} ${s.name}`).join(', ')}`);
console.log(`  client id:     ${simulator.clientId}`);
console.log(`  client secret: ${simulator.clientSecret}`);
console.log(
  `  control:       ${simulator.url}/_simulator/students, /_simulator/faults, /_simulator/stats, /_simulator/graduate`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('simulator did not stop cleanly:', err);
        process.exit(1);
      },
    );
  });
}
