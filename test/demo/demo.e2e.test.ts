import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { dropDatabase } from '../../db/migrate.js';
import { testEnv } from '../helpers/env.js';
import { spawnNode } from '../helpers/process.js';

/** `npm run demo -- --once` is the first thing a user tries: keep it from rotting. */
describe('npm run demo -- --once', () => {
  it('walks one school through test run → commit → incremental sync and exits 0', async () => {
    // Hold a port, and offer it to the demo for all three servers: it must pick free ones.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = String((blocker.address() as { port: number }).port);
    const dbName = `pss_demo_test_${process.pid}`;
    const server = new URL(testEnv.postgresServerUrl);
    const env = {
      DEMO_DATABASE: dbName,
      DATABASE_URL: new URL(`/${dbName}`, server).toString(),
      PORT: busy,
      TEMPORAL_PORT: busy,
      TEMPORAL_UI_PORT: busy,
    };
    const demo = spawnNode('scripts/demo.ts', { label: 'demo', args: ['--once'], env });
    const { code } = await demo.exited;
    const out = demo.output();
    blocker.close();
    await dropDatabase(env.DATABASE_URL);

    expect(out, out).toContain('Demo finished');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`port ${busy} \\(API\\) is in use; using \\d+ instead`));
    const results = [
      ...out.matchAll(
        /fetched (\d+) · (?:would create|created) (\d+) · (?:would update|updated) (\d+) · unchanged (\d+) · invalid (\d+) · missing (\d+) · (?:would link|linked) (\d+) · needs review (\d+)/g,
      ),
    ].map((m) => m.slice(1).map(Number));
    expect(results).toHaveLength(3);
    const [preview, commit, incremental] = results as [number[], number[], number[]];
    expect(preview[1]).toBeGreaterThan(0);
    // The school's existing accounts: most are linked, one record has two candidates.
    expect(preview[6]).toBeGreaterThan(preview[1]!);
    expect(preview[7]).toBeGreaterThanOrEqual(1);
    expect(commit).toEqual(preview); // the commit does exactly what the test run previewed
    // 3 renames, 1 new, 1 transferred out, the review resolved in between linked; the rest unchanged.
    const [fetched, created, updated, unchanged, invalid, missing, linked, needsReview] = incremental;
    expect([created, updated, missing, linked, needsReview]).toEqual([1, 3, 1, 1, commit[7]! - 1]);
    expect(fetched).toBe(commit[0]);
    expect(unchanged).toBe(fetched! - invalid! - created! - updated! - linked! - needsReview!);
    expect(out).toMatch(/resolved: link to cialfo-/);
    expect(out).toMatch(/3 emails in the outbox/);

    // The district: one school of three synced, then its seniors graduate and depart, with the reason.
    const [picked, district] = [
      /: (\d+) students in scope \(the whole district has (\d+)\)/.exec(out),
      [...out.matchAll(/succeeded: fetched (\d+) · created (\d+) · updated (\d+) · departed (\d+) · missing (\d+)/g)],
    ] as const;
    expect(Number(picked![1])).toBeLessThan(Number(picked![2]));
    const [districtCommit, rollover] = district.map((m) => m.slice(1).map(Number)) as [number[], number[]];
    expect(districtCommit[0]).toBe(Number(picked![1])); // fetched: exactly the picked school's students
    expect(districtCommit[1]).toBeGreaterThan(0);
    expect(rollover.slice(1, 3)).toEqual([0, 0]); // nothing created or updated at the rollover
    const graduated = Number(/PowerSchool: (\d+) seniors/.exec(out)![1]);
    expect(graduated).toBeGreaterThan(0);
    expect(rollover[3]).toBe(graduated);
    expect(out).toContain('departed (graduated)');
    // A whole class leaving is held for a person, shown with its reason and run link, then approved.
    expect(out).toMatch(new RegExp(`TOO_MANY_DEPARTURES: ${graduated} of \\d+ active students`));
    expect(out).toMatch(/waiting in Temporal \(SyncStatus="held"\) until \S+: http\S+/);
  }, 180_000);
});
