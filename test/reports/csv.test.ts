import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANGES_CSV_COLUMNS, ISSUES_CSV_COLUMNS, CsvLineEnds } from '../../db/queries/reports.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { expectErrorShape, startTestApi, type TestApi } from '../api/support.js';

describe('CsvLineEnds', () => {
  it('ends rows with CRLF and leaves a newline inside a quoted field alone, across chunk boundaries', async () => {
    const chunks = ['a,"x\n', 'y ""q""",1\n', 'b,"', '\n",-2\n'];
    let out = '';
    const lineEnds = new CsvLineEnds();
    lineEnds.on('data', (d: Buffer) => (out += d.toString('utf8')));
    for (const c of chunks) lineEnds.write(Buffer.from(c));
    lineEnds.end();
    await new Promise((resolve) => lineEnds.on('end', resolve));
    expect(out).toBe('a,"x\ny ""q""",1\r\nb,"\n",-2\r\n');
    expect(parse(out)).toEqual([
      ['a', 'x\ny "q"', '1'],
      ['b', '\n', '-2'],
    ]);
  });
});

describe('run reports as CSV', () => {
  let api: TestApi;
  const schoolId = uniqueSchoolId('csv');
  const runId = `powerschool-sync-${schoolId}-manual-20270101T000000Z-abc123`;
  const awkwardName = 'Smith, "Jr."\nthe 2nd';
  const created = {
    dcid: '101',
    studentNumber: 'S101',
    firstName: '=HYPERLINK("http://evil.example")',
    lastName: awkwardName,
    graduationYear: 2027,
  };

  beforeAll(async () => {
    api = await startTestApi();
    await api.db
      .insertInto('runs')
      .values({ id: runId, school_id: schoolId, trigger: 'manual', test_run: false, status: 'succeeded' })
      .execute();
    await api.db
      .insertInto('run_changes')
      .values([
        { run_id: runId, dcid: '101', type: 'create', before: null, after: JSON.stringify(created) },
        {
          run_id: runId,
          dcid: '102',
          type: 'update',
          before: JSON.stringify({
            dcid: '102',
            firstName: 'Ann',
            lastName: 'Lee',
            gradeLevel: 0,
            graduationYear: 2027,
          }),
          after: JSON.stringify({
            dcid: '102',
            firstName: '=1+2',
            lastName: awkwardName,
            gradeLevel: -1,
            graduationYear: 2027,
          }),
        },
      ])
      .execute();
    await api.db
      .insertInto('run_issues')
      .values({
        run_id: runId,
        dcid: '(no DCID: page 1, row 2)',
        powerschool_id: null,
        field: 'dcid',
        code: 'MISSING',
        message: '@SUM(A1) is not a DCID',
        skipped: true,
      })
      .execute();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('changes.csv: one row per changed field, formula text prefixed, numbers as numbers, round-trips', async () => {
    const res = await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/runs/${runId}/changes.csv` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${runId}-changes.csv"`);
    const rows = parse(res.body, { bom: false, relax_column_count: false }) as string[][];
    expect(rows[0]).toEqual([...CHANGES_CSV_COLUMNS]);
    const body = rows.slice(1);

    // The create: one row, no field, `after` the whole record as JSON (text that starts with `{`).
    const create = body.filter((r) => r[0] === 'create');
    expect(create).toHaveLength(1);
    expect(create[0]!.slice(0, 5)).toEqual(['create', '101', '101', '', '']);
    expect(JSON.parse(create[0]![5]!)).toEqual(created);

    // The update: only the fields that differ (graduationYear and dcid did not change).
    const update = body.filter((r) => r[0] === 'update');
    expect(update.map((r) => r[3]).sort()).toEqual(['firstName', 'gradeLevel', 'lastName']);
    const byField = Object.fromEntries(update.map((r) => [r[3], r]));
    expect(byField.firstName!.slice(4)).toEqual(['Ann', "'=1+2"]);
    expect(byField.gradeLevel!.slice(4)).toEqual(['0', '-1']);
    expect(res.body).toContain(',gradeLevel,0,-1\r\n');
    // Quotes, a comma and a newline come back exactly as they went in.
    expect(byField.lastName![5]).toBe(awkwardName);
    expect(res.body.endsWith('\r\n')).toBe(true);
  });

  it('issues.csv: one row per issue, in the contract columns', async () => {
    const res = await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/runs/${runId}/issues.csv` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${runId}-issues.csv"`);
    const rows = parse(res.body) as string[][];
    expect(rows).toEqual([
      [...ISSUES_CSV_COLUMNS],
      ['(no DCID: page 1, row 2)', '', 'dcid', 'MISSING', "'@SUM(A1) is not a DCID", 'true'],
    ]);
  });

  it('an unknown run is a 404 in the error shape; no token is a 401', async () => {
    const missing = await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/runs/nope/changes.csv` });
    expect(missing.statusCode).toBe(404);
    expectErrorShape(missing.json());
    const anonymous = await api.app.inject({ method: 'GET', url: `/v1/schools/${schoolId}/runs/${runId}/issues.csv` });
    expect(anonymous.statusCode).toBe(401);
  });
});
