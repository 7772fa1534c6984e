import { describe, expect, it } from 'vitest';
import { runNode, spawnNode } from '../helpers/process.js';

/** `npm run simulator` as a developer runs it: SIMULATOR_SCHOOLS picks the district's size. */
describe('simulator/main.ts', () => {
  it('SIMULATOR_SCHOOLS schools, listed at start with the Graduated Students school', async () => {
    const sim = spawnNode('simulator/main.ts', {
      env: { SIMULATOR_PORT: '0', SIMULATOR_STUDENTS: '50', SIMULATOR_SCHOOLS: '2' },
    });
    try {
      await sim.waitForOutput(/schools: .*\n/, 30_000);
      expect(sim.output()).toContain('schools:       100 North School, 200 South School, 999999 Graduated Students');
    } finally {
      await sim.stop();
    }
  });

  it('a SIMULATOR_SCHOOLS outside 1–50 stops it with one line naming it, exit 78', async () => {
    const r = await runNode('simulator/main.ts', { env: { SIMULATOR_SCHOOLS: '0' }, timeoutMs: 30_000 });
    expect(r.code).toBe(78);
    expect(r.stderr.trim()).toBe('Configuration error: SIMULATOR_SCHOOLS: must be an integer between 1 and 50');
  });
});
