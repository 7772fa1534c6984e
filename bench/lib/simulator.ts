import { fileURLToPath } from 'node:url';
import type { SimulatedStudent } from '../../simulator/index.js';
import { SEEDED_GRADES } from '../../simulator/students.js';
import { spawnNode, type NodeChild } from '../../test/helpers/process.js';
import { waitUntil } from './proc.js';

/** The grades every benchmark school syncs: all of them, so every (active) seeded student is in scope. */
export const BENCH_SCOPE = { gradeFrom: SEEDED_GRADES.from, gradeTo: SEEDED_GRADES.to } as const;

export interface SimulatorProcess {
  url: string;
  clientId: string;
  clientSecret: string;
  students: number;
  maxPageSize: number;
  process: NodeChild;
  /** The simulator's in-scope students (active, grades −2…12), read through its control endpoint, by DCID. */
  inScopeStudents(): Promise<SimulatedStudent[]>;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./simulator-main.ts', import.meta.url));

export async function startSimulatorProcess(opts: {
  students: number;
  maxPageSize: number;
  seed?: number;
}): Promise<SimulatorProcess> {
  const child = spawnNode(MAIN, {
    label: 'simulator',
    env: {
      BENCH_SIM_STUDENTS: String(opts.students),
      BENCH_SIM_SEED: String(opts.seed ?? 1),
      BENCH_SIM_MAX_PAGE_SIZE: String(opts.maxPageSize),
    },
  });
  try {
    const info = await waitUntil(
      'PowerSchool simulator',
      () => {
        const line = /BENCH_SIMULATOR (\{.*\})/.exec(child.output())?.[1];
        return line ? (JSON.parse(line) as { url: string; clientId: string; clientSecret: string }) : undefined;
      },
      { timeoutMs: 60_000, child },
    );
    return {
      ...info,
      students: opts.students,
      maxPageSize: opts.maxPageSize,
      process: child,
      async inScopeStudents() {
        const out: SimulatedStudent[] = [];
        for (let offset = 0; ; offset += 10_000) {
          const res = await fetch(`${info.url}/_simulator/students?offset=${offset}&limit=10000`);
          if (!res.ok) throw new Error(`simulator control: ${res.status}`);
          const body = (await res.json()) as { total: number; students: SimulatedStudent[] };
          out.push(...body.students);
          if (body.students.length === 0 || offset + body.students.length >= body.total) break;
        }
        return out
          .filter(
            (s) =>
              s.enroll_status === 0 && s.grade_level >= BENCH_SCOPE.gradeFrom && s.grade_level <= BENCH_SCOPE.gradeTo,
          )
          .sort((a, b) => a.dcid - b.dcid);
      },
      stop: async () => void (await child.stop()),
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
}
