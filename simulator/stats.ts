// Counts the PowerSchool API requests a simulator serves: totals, concurrency, faults, and a bounded log.
import type { FastifyInstance } from 'fastify';
import type { SimulatorRequest, SimulatorStats } from './types.js';

/** Bounded, so a long benchmark against one simulator does not grow without end. */
const MAX_REQUEST_LOG = 10_000;

export class RequestStats {
  readonly stats: SimulatorStats = {
    requests: 0,
    tokenRequests: 0,
    dataRequests: 0,
    maxConcurrent: 0,
    faults: { errors: 0, rateLimited: 0, dropped: 0, hung: 0, revokedTokens: 0 },
  };
  private readonly log: SimulatorRequest[] = [];
  private inFlight = 0;

  /** Counts every `/ws/` and `/oauth/` request (control endpoints are not PowerSchool's). */
  track(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url;
      if (!path.startsWith('/ws/') && !path.startsWith('/oauth/')) return;
      this.stats.requests++;
      if (path.startsWith('/ws/')) this.stats.dataRequests++;
      else this.stats.tokenRequests++;
      this.inFlight++;
      this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.inFlight);
      const entry: SimulatorRequest = { method: request.method, path: path.split('?')[0]!, receivedAt: Date.now() };
      this.log.push(entry);
      if (this.log.length > MAX_REQUEST_LOG) this.log.splice(0, this.log.length - MAX_REQUEST_LOG);
      reply.raw.once('finish', () => {
        entry.status = reply.raw.statusCode;
        entry.answeredAt = Date.now();
      });
      reply.raw.once('close', () => this.inFlight--);
    });
  }

  snapshot(): SimulatorStats {
    return structuredClone(this.stats);
  }

  requestLog(): SimulatorRequest[] {
    return this.log.map((r) => ({ ...r }));
  }
}
