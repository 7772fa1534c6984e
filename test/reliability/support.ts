import { appendFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { pino, type Logger } from 'pino';
import { expect } from 'vitest';
import type { Db } from '../../db/connection.js';
import type { SimulatedStudent, Simulator } from '../../simulator/index.js';
import { comparable, expectedStudent, studentsOf, type ExpectedStudent } from '../sync/harness.js';

/**
 * Shared pieces of the reliability suite: log capture, the personal-data scan, the "exact result"
 * check, and the figures each scenario reports for docs/reliability.md. Child processes, databases
 * and waiting come from test/helpers/.
 */

/** `soak` (scripts/soak.ts) runs the long variants; the default suite keeps to its time budget. */
export const SOAK = process.env.RELIABILITY_SCALE === 'soak';

// ---- figures --------------------------------------------------------------------------------------

export type Figures = Record<string, string | number | boolean | null>;

/**
 * One summary line per scenario, printed and (when RELIABILITY_FIGURES names a file) appended as
 * JSON, so docs/reliability.md quotes numbers from real runs.
 */
export function report(scenario: string, figures: Figures): void {
  const line = { scenario, at: new Date().toISOString(), ...figures };
  console.log(`[reliability] ${JSON.stringify(line)}`);
  const file = process.env.RELIABILITY_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}

// ---- logs -----------------------------------------------------------------------------------------

/** Everything a logger (or a child's stdout/stderr) wrote, kept for the personal-data scan. */
export class LogSink extends Writable {
  private readonly chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: string, done: () => void) {
    this.chunks.push(chunk.toString());
    done();
  }
  push(text: string): void {
    this.chunks.push(text);
  }
  text(): string {
    return this.chunks.join('');
  }
  lines(): number {
    return this.text().split('\n').filter(Boolean).length;
  }
}

/** A pino logger at debug level writing into the sink: the worst case for what could leak. */
export function sinkLogger(sink: LogSink): Logger {
  return pino({ level: 'debug' }, sink);
}

// ---- exact results --------------------------------------------------------------------------------

export interface ExactCheck {
  checked: number;
  lost: number;
  duplicates: number;
  unexpected: number;
}

/**
 * The students table of a school against the students PowerSchool holds in scope: same DCIDs, each
 * once, every column as the sync should have written it. Returns the figures for the report.
 */
export async function expectExactStudents(
  db: Db,
  schoolId: string,
  inScope: SimulatedStudent[],
  mapping: { dateOfBirth: boolean; gender: boolean },
): Promise<ExactCheck> {
  const rows = await studentsOf(db, schoolId);
  const dcids = rows.map((r) => r.dcid);
  const distinct = new Set(dcids);
  const expected = inScope.map((s) => expectedStudent(s, mapping));
  const expectedDcids = new Set(expected.map((e) => e.dcid));
  const figures: ExactCheck = {
    checked: rows.length,
    lost: expected.filter((e) => !distinct.has(e.dcid)).length,
    duplicates: dcids.length - distinct.size,
    unexpected: [...distinct].filter((d) => !expectedDcids.has(d)).length,
  };
  expect(figures).toMatchObject({ lost: 0, duplicates: 0, unexpected: 0 });
  const byDcid = (a: ExpectedStudent, b: ExpectedStudent) => Number(a.dcid) - Number(b.dcid);
  expect(comparable(rows).sort(byDcid)).toEqual(expected.sort(byDcid));
  return figures;
}

/** Every grade the contract allows: all seeded students with enroll_status 0 are in scope. */
export const ALL_GRADES = { from: -2, to: 12 } as const;

export function inScopeOf(sim: Simulator, grades: { from: number; to: number } = ALL_GRADES): SimulatedStudent[] {
  return sim.students.inScope(grades.from, grades.to);
}

// ---- personal data --------------------------------------------------------------------------------

/**
 * A run's whole history as text, payloads decoded: walks the raw messages (JSON.stringify would go
 * through protobufjs' toJSON and turn every payload into base64 that no search can read).
 */
export async function historyText(client: Client, workflowId: string): Promise<string> {
  const parts: string[] = [];
  // Every execution of the workflow id (continue-as-new chains, retried runs).
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, wf.runId).fetchHistory();
    walkText(history, parts);
    walkText(wf.searchAttributes, parts);
    walkText(wf.typedSearchAttributes, parts);
    walkText(wf.memo, parts);
  }
  return parts.join('\n');
}

function walkText(value: unknown, parts: string[], seen = new Set<unknown>()): void {
  if (value === null || value === undefined) return;
  if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'string') parts.push(value);
  else if (typeof value === 'number' || typeof value === 'boolean') parts.push(String(value));
  else if (typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    if (value instanceof Map) for (const [k, v] of value) walkText([k, v], parts, seen);
    else for (const v of Array.isArray(value) ? value : Object.values(value)) walkText(v, parts, seen);
  }
}

export interface PersonalDataFinding {
  where: string;
  what: string;
}

/**
 * Looks for student names (as "First Last" and "Last, First", and each name of 6+ characters on
 * its own when it is rare enough to be a real find), dates of birth and secrets in a text.
 */
export function findPersonalData(
  where: string,
  text: string,
  students: Iterable<Pick<SimulatedStudent, 'first_name' | 'last_name' | 'dob'>>,
  secrets: string[],
  { markers = [], fieldNames = false }: { markers?: string[]; fieldNames?: boolean } = {},
): PersonalDataFinding[] {
  // An empty text would pass every scan: it means the thing to scan never happened.
  if (text.trim() === '') throw new Error(`${where}: nothing to scan`);
  const found: PersonalDataFinding[] = [];
  const seen = new Set<string>();
  const hit = (what: string) => {
    if (!seen.has(what)) {
      seen.add(what);
      found.push({ where, what });
    }
  };
  for (const s of students) {
    const first = typeof s.first_name === 'string' ? s.first_name.trim() : '';
    const last = typeof s.last_name === 'string' ? s.last_name.trim() : '';
    if (first && last && text.includes(`${first} ${last}`)) hit(`name ${first} ${last}`);
    if (first && last && text.includes(`${last}, ${first}`)) hit(`name ${last}, ${first}`);
    if (typeof s.dob === 'string' && /^\d{4}-\d\d-\d\d$/.test(s.dob) && text.includes(s.dob)) hit(`dob ${s.dob}`);
  }
  for (const secret of secrets) if (secret && text.includes(secret)) hit('a secret');
  for (const marker of markers) if (text.includes(marker)) hit(`marker ${marker}`);
  // In a history even a field name means a record crossed into it (logs may name fields in issue counts).
  if (fieldNames && /first_?name|last_?name|date_?of_?birth|"dob"/i.test(text)) hit('a student field name');
  return found;
}

/**
 * The scan that ends a fault scenario: every history of its runs (payloads decoded, search
 * attributes and memo) and everything its workers logged. It cannot pass on nothing: there must
 * be runs whose histories hold decoded inputs and page reads, log lines, students to look for, and
 * the scan must see a name planted in a copy of the text.
 */
export async function scanRunsForPersonalData(
  client: Client,
  {
    workflowIds,
    logs,
    students,
    secrets,
  }: {
    workflowIds: string[];
    logs: LogSink;
    students: Pick<SimulatedStudent, 'first_name' | 'last_name' | 'dob'>[];
    secrets: string[];
  },
): Promise<PersonalDataFinding[]> {
  expect(workflowIds.length, 'runs to scan (the scenario before the scan must have run)').toBeGreaterThan(0);
  expect(students.length, 'students to look for').toBeGreaterThan(1);
  expect(logs.lines(), 'worker log lines').toBeGreaterThan(0);
  const findings: PersonalDataFinding[] = [];
  for (const id of workflowIds) {
    const text = await historyText(client, id);
    expect(text, `history ${id}: the workflow input, decoded`).toContain('"schoolId"');
    expect(text, `history ${id}: a page read`).toContain('fetchPage');
    findings.push(...findPersonalData(`history ${id}`, text, students, secrets, { fieldNames: true }));
  }
  findings.push(...findPersonalData('worker logs', logs.text(), students, secrets));
  const someone = students.find((s) => s.first_name.trim() && s.last_name.trim())!;
  const planted = `${logs.text()}\n${someone.first_name.trim()} ${someone.last_name.trim()}`;
  expect(findPersonalData('planted', planted, [someone], []), 'the scan sees a planted name').toHaveLength(1);
  return findings;
}

/** Unique, unmistakable names for a marker student: if they show up anywhere, something leaked. */
export function markerStudent(tag: string): Pick<SimulatedStudent, 'first_name' | 'last_name' | 'dob'> {
  return { first_name: `Zephyrine${tag}`, last_name: `Quillfeather${tag}`, dob: '2009-04-17' };
}
