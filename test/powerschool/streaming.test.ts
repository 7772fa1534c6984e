import { describe, expect, it } from 'vitest';
import { clientFor, simulator } from './helpers.js';

describe('readAllStudents streams', () => {
  it('fetches a page only when the consumer asks for it and never holds more than one page', async () => {
    const sim = await simulator({ students: 5_000 });
    const client = clientFor(sim);
    const scope = { gradeFrom: -2, gradeTo: 12 };
    const expected = sim.students.inScope(-2, 12).length;
    const pagesTotal = Math.ceil(expected / 100);

    let received = 0;
    let pages = 0;
    for await (const page of client.readAllStudents(scope)) {
      pages++;
      // metadata + count + the pages handed out so far: no read-ahead, no buffering.
      expect(sim.stats().dataRequests).toBe(2 + page.page);
      expect(page.rows.length).toBeLessThanOrEqual(100);
      received += page.rows.length;
      // A slow consumer does not make the client fetch ahead.
      await new Promise((r) => setImmediate(r));
      expect(sim.stats().dataRequests).toBe(2 + page.page);
    }
    expect(pages).toBe(pagesTotal);
    expect(received).toBe(expected);
  });

  it('stopping early (break) stops fetching', async () => {
    const sim = await simulator({ students: 2_000 });
    const client = clientFor(sim);
    for await (const page of client.readAllStudents({ gradeFrom: -2, gradeTo: 12 })) {
      if (page.page === 3) break;
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.stats().dataRequests).toBe(2 + 3);
  });
});
