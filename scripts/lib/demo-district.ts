// The demo's district chapter: one Cialfo school syncs one PowerSchool school of three, then a graduating class leaves.
import type { Stack } from './stack.js';

const SCHOOL = 'demo-district-school';

interface DistrictRun {
  id: string;
  status: string;
  counts: { fetched: number; created: number; updated: number; departed: number; missing: number };
  temporal: { uiUrl: string };
  hold: {
    reasons: { code: string; count: number; base: number; percent: number; limit: number }[];
    expiresAt: string;
  } | null;
}

async function commitAndWait(stack: Stack, say: (line?: string) => void): Promise<DistrictRun> {
  const started = await stack.api<DistrictRun>('POST', `/v1/schools/${SCHOOL}/runs`, { testRun: false });
  return waitForEnd(stack, say, started.id);
}

/** Polls the run until it is no longer running: held (waiting for a person) or ended. */
async function waitForEnd(stack: Stack, say: (line?: string) => void, runId: string): Promise<DistrictRun> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const run = await stack.api<DistrictRun>('GET', `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(runId)}`);
    if (run.status === 'held') return run;
    if (run.status !== 'running') {
      const c = run.counts;
      say(
        `  ${run.status}: fetched ${c.fetched} · created ${c.created} · updated ${c.updated} · departed ${c.departed} · missing ${c.missing}`,
      );
      if (run.status !== 'succeeded') throw new Error(`run ${run.id} ended ${run.status}`);
      return run;
    }
    if (Date.now() > deadline) throw new Error(`run ${runId} still running after 5 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A district runs one PowerSchool for all its schools. The Cialfo school picks its own school
 * from the district's list, syncs only that school's students, and after the year-end rollover
 * sees its graduating class depart — with PowerSchool's own reason, not a guess.
 */
export async function districtStory(
  stack: Stack,
  say: (line?: string) => void,
  step: (title: string) => void,
): Promise<DistrictRun[]> {
  step('6. A district: one PowerSchool, three schools; a Cialfo school syncs just its own');
  const credentials = {
    serverUrl: stack.simulator.url,
    clientId: stack.simulator.clientId,
    clientSecret: stack.simulator.clientSecret,
  };
  const settings = (schools: number[]) => ({
    powerschool: { ...credentials, schools },
    active: true,
    testRun: false,
    grades: { from: 9, to: 12 },
    mapping: { powerschoolId: 'STUDENT_NUMBER', gradeLevel: true },
  });
  await stack.api('PUT', `/v1/schools/${SCHOOL}/integration`, settings([]));
  const { schools } = await stack.api<{ schools: { schoolNumber: number; name: string | null; lowGrade: number }[] }>(
    'GET',
    `/v1/schools/${SCHOOL}/integration/powerschool-schools`,
  );
  say('  the district’s schools, read live from PowerSchool:');
  for (const s of schools) say(`    ${String(s.schoolNumber).padStart(6)}  ${s.name}`);
  const mine = schools.find((s) => s.lowGrade < 99)!; // not the Graduated Students school
  const picked = schools.filter((s) => s.lowGrade < 99)[1] ?? mine;
  await stack.api('PUT', `/v1/schools/${SCHOOL}/integration`, settings([picked.schoolNumber]));
  const probe = await stack.api<{ studentsInScope: number }>(
    'POST',
    `/v1/schools/${SCHOOL}/integration/test-connection`,
  );
  const district = stack.simulator.students.inScope(9, 12).length;
  say(
    `  picked ${picked.schoolNumber} ${picked.name}: ${probe.studentsInScope} students in scope (the whole district has ${district})`,
  );
  const first = await commitAndWait(stack, say);

  step('7. Year-end rollover: the seniors of that school graduate; the next sync says why they left');
  const seniors = stack.simulator.students.inScope(12, 12, [picked.schoolNumber]);
  const classOf = seniors[0]?.sched_yearofgraduation;
  const graduated = classOf === undefined ? [] : stack.simulator.students.graduateClass(classOf, picked.schoolNumber);
  say(
    `  PowerSchool: ${graduated.length} seniors of the class of ${classOf} → ENROLL_STATUS 3, Graduated Students school`,
  );
  let rollover = await commitAndWait(stack, say);
  if (rollover.status === 'held') {
    // A class leaving at once is the mass change the safety hold exists for: a person decides.
    say('  held by the safety hold, nothing written yet:');
    for (const r of rollover.hold!.reasons)
      say(`    ${r.code}: ${r.count} of ${r.base} active students (${r.percent}%, limit ${r.limit}%)`);
    say(`  waiting in Temporal (SyncStatus="held") until ${rollover.hold!.expiresAt}: ${rollover.temporal.uiUrl}`);
    say('  the school’s administrator approves it (POST …/runs/{runId}/approve):');
    await stack.api('POST', `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(rollover.id)}/approve`);
    rollover = await waitForEnd(stack, say, rollover.id);
  }
  const { changes } = await stack.api<{ changes: { powerschoolId: string; after: Record<string, unknown> }[] }>(
    'GET',
    `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(rollover.id)}/changes?type=depart&limit=3`,
  );
  for (const c of changes)
    say(`    - ${c.powerschoolId}: ${c.after.firstName} ${c.after.lastName} departed (${c.after.departureReason})`);
  const departed = await stack.api<{ students: unknown[] }>(
    'GET',
    `/v1/schools/${SCHOOL}/students?status=departed&limit=100`,
  );
  say(`  GET …/students?status=departed lists them (first page: ${departed.students.length}); nobody was deleted`);
  return [first, rollover];
}
