import type { Readable } from 'node:stream';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * A run's record as CSV, written by PostgreSQL itself (COPY … TO STDOUT, format csv) and passed
 * on as bytes: no row ever becomes a JavaScript object, so the API's memory stays flat whatever
 * the run's size (a cursor read of a million rows still grew the heap by ~100 MB before the
 * collector caught up). PostgreSQL quotes as RFC 4180 asks; the rules it cannot know are in the
 * queries below, and CsvLineEnds turns its LF row ends into CRLF.
 *
 * Cell rules: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`
 * (a spreadsheet would run it as a formula); numbers are written as numbers, never prefixed.
 */

export type PowerSchoolIdSource = 'DCID' | 'STUDENT_NUMBER';

/** A text expression as a CSV cell: formula-looking text prefixed with `'`. */
const textCell = (x: string) => `(case when ${x} ~ E'^[=+@\\t\\r-]' then '''' || ${x} else ${x} end)`;

/** A jsonb value as a cell: strings as text cells, numbers and booleans bare, objects as JSON. */
const jsonCell = (v: string) =>
  `(case jsonb_typeof(${v}) when 'string' then ${textCell(`(${v} #>> '{}')`)} when 'null' then null else ${v} #>> '{}' end)`;

export const CHANGES_CSV_COLUMNS = ['type', 'powerschoolId', 'dcid', 'field', 'before', 'after'] as const;
export const ISSUES_CSV_COLUMNS = ['dcid', 'powerschoolId', 'field', 'code', 'message', 'skipped'] as const;

/**
 * One row per changed field: an update or link gives one row per field whose value differs; a
 * create or depart one row with an empty field, `after` the whole record (create) or the
 * departure reason (depart). In DCID order (the primary key).
 */
function changesQuery(runId: string, mapping: PowerSchoolIdSource): string {
  const studentNumber = `coalesce(c.after->>'studentNumber', c.before->>'studentNumber')`;
  const [type, psid, dcid, field, before, after] = CHANGES_CSV_COLUMNS.map((c) => pg.escapeIdentifier(c));
  return `
    select ${textCell('c.type')} as ${type},
           ${textCell(mapping === 'STUDENT_NUMBER' ? studentNumber : 'c.dcid::text')} as ${psid},
           c.dcid as ${dcid},
           ${textCell('f.field')} as ${field},
           ${jsonCell('f.before')} as ${before},
           ${jsonCell('f.after')} as ${after}
    from run_changes c
    cross join lateral (
      select null::text as field, null::jsonb as before,
             case when c.type = 'depart' then c.after -> 'departureReason' else c.after end as after
      where c.type not in ('update', 'link')
      union all
      select k.key, c.before -> k.key, c.after -> k.key
      from jsonb_object_keys(coalesce(c.before, '{}'::jsonb) || c.after) as k(key)
      where c.type in ('update', 'link') and (c.before -> k.key) is distinct from (c.after -> k.key)
    ) f
    where c.run_id = ${pg.escapeLiteral(runId)}
    order by c.dcid`;
}

/** The issues in the order they were recorded, as GET …/issues lists them. */
function issuesQuery(runId: string): string {
  const [dcid, psid, field, code, message, skipped] = ISSUES_CSV_COLUMNS.map((c) => pg.escapeIdentifier(c));
  return `
    select ${textCell('dcid')} as ${dcid}, ${textCell('powerschool_id')} as ${psid},
           ${textCell('field')} as ${field}, ${textCell('code')} as ${code},
           ${textCell('message')} as ${message},
           case when skipped then 'true' else 'false' end as ${skipped}
    from run_issues where run_id = ${pg.escapeLiteral(runId)}
    order by id`;
}

/**
 * PostgreSQL ends CSV rows with LF; RFC 4180 with CRLF. Adds the CR to every LF outside a quoted
 * field (a newline inside a name stays as it is), tracking quotes across chunks.
 */
export class CsvLineEnds extends Transform {
  private quoted = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let rowEnds = 0;
    let quoted = this.quoted;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === 0x22) quoted = !quoted;
      else if (byte === 0x0a && !quoted) rowEnds++;
    }
    if (rowEnds === 0) {
      this.quoted = quoted;
      done(null, chunk);
      return;
    }
    const out = Buffer.allocUnsafe(chunk.length + rowEnds);
    let o = 0;
    quoted = this.quoted;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 0x22) quoted = !quoted;
      else if (byte === 0x0a && !quoted) out[o++] = 0x0d;
      out[o++] = byte;
    }
    this.quoted = quoted;
    done(null, out);
  }
}

/** A long download is one COPY statement: it may run this long (the pool's usual limit is 30 s). */
const REPORT_STATEMENT_TIMEOUT_MS = 15 * 60_000;

export interface ReportSource {
  changesCsv(runId: string, mapping: PowerSchoolIdSource): Promise<Readable>;
  issuesCsv(runId: string): Promise<Readable>;
  close(): Promise<void>;
}

/**
 * A small pool of its own: a download holds its connection for as long as the client reads, so
 * downloads must not starve the API's queries (at most `max` at once; more wait for a connection).
 */
export function createReportSource(databaseUrl: string, options: { max?: number } = {}): ReportSource {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 4,
    application_name: 'powerschool-sync-reports',
    connectionTimeoutMillis: 10_000,
    statement_timeout: REPORT_STATEMENT_TIMEOUT_MS,
  });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));

  async function copyCsv(query: string): Promise<Readable> {
    const client = await pool.connect();
    const copy = client.query(copyTo(`copy (${query}) to stdout with (format csv, header true)`));
    // The connection goes back to the pool only after a complete COPY; one the client hung up on
    // (or that failed) is closed, since it may still be mid-COPY.
    return pipeline(copy, new CsvLineEnds(), (err) => client.release(err ?? undefined));
  }

  return {
    changesCsv: (runId, mapping) => copyCsv(changesQuery(runId, mapping)),
    issuesCsv: (runId) => copyCsv(issuesQuery(runId)),
    close: () => pool.end(),
  };
}
