// Fault injection for the simulator's data calls: latency, errors, 429s, drops, hangs and token expiry.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sendTokenExpired, type TokenIssuer } from './oauth.js';
import { seededRandom, type Random } from './random.js';
import type { SimulatorFaults, SimulatorStats } from './types.js';

/** A hung request gives up after this long if the client never hangs up. */
const HANG_LIMIT_MS = 60_000;

/** What `PUT /_simulator/faults` accepts. */
export const faultsSchema = z
  .object({
    errorRate: z.number().min(0).max(1),
    rateLimitRate: z.number().min(0).max(1),
    retryAfterSeconds: z.number().min(0),
    latencyMs: z.number().min(0),
    dropRate: z.number().min(0).max(1),
    tokenExpiresEveryRequests: z.number().int().min(1),
    timeoutPages: z.array(z.number().int().min(1)),
    next: z.array(z.enum(['rate-limit', 'error', 'unavailable', 'drop', 'timeout', 'unauthorized', 'ok'])),
  })
  .partial()
  .strict();

export class FaultInjector {
  private faults: SimulatorFaults = {};
  private hungPages = new Set<number>();
  private readonly random: Random;
  /** Aborted on close: ends every latency and hang wait. */
  private readonly closing = new AbortController();

  constructor(
    faultSeed: number,
    private readonly tokens: TokenIssuer,
    private readonly counts: SimulatorStats['faults'],
  ) {
    this.random = seededRandom(faultSeed);
  }

  get current(): SimulatorFaults {
    return this.faults;
  }

  set(next: SimulatorFaults): void {
    this.faults = { ...next, ...(next.next ? { next: [...next.next] } : {}) };
    this.hungPages = new Set();
  }

  close(): void {
    this.closing.abort();
  }

  /** Applies faults and checks the bearer token; false when it has already answered. */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const f = this.faults;
    const scripted = f.next?.shift();
    if (f.latencyMs) await this.wait(f.latencyMs);
    if (scripted === 'timeout') {
      await this.hang(request);
      reply.hijack();
      request.raw.socket.destroy();
      return false;
    }
    if (scripted === 'unauthorized') {
      sendTokenExpired(reply);
      return false;
    }
    if (scripted === 'drop' || (!scripted && f.dropRate && this.random() < f.dropRate)) {
      this.counts.dropped++;
      reply.hijack();
      request.raw.socket.destroy();
      return false;
    }
    if (scripted === 'rate-limit' || (!scripted && f.rateLimitRate && this.random() < f.rateLimitRate)) {
      this.counts.rateLimited++;
      const seconds = f.retryAfterSeconds ?? 1;
      void reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({ message: `Too many requests. Retry after ${seconds} seconds.` });
      return false;
    }
    if (scripted === 'unavailable') {
      this.counts.errors++;
      const seconds = f.retryAfterSeconds ?? 1;
      void reply
        .code(503)
        .header('retry-after', String(seconds))
        .send({ message: 'Service Unavailable: down for maintenance' });
      return false;
    }
    if (scripted === 'error' || (!scripted && f.errorRate && this.random() < f.errorRate)) {
      this.counts.errors++;
      const status = scripted ? 503 : [500, 502, 503][Math.floor(this.random() * 3)]!;
      void reply.code(status).send({ message: 'Internal Server Error' });
      return false;
    }
    const auth = this.tokens.authorise(request, f.tokenExpiresEveryRequests);
    if (auth === 'ok') return true;
    if (auth === 'revoked') this.counts.revokedTokens++;
    sendTokenExpired(reply);
    return false;
  }

  /**
   * A table page listed in `timeoutPages` hangs the first time it is asked for. True when the
   * client hung up meanwhile (the caller must not answer).
   */
  async hangsOnce(page: number, request: FastifyRequest): Promise<boolean> {
    const timeoutPages = this.faults.timeoutPages ?? [];
    if (!timeoutPages.includes(page) || this.hungPages.has(page)) return false;
    this.hungPages.add(page);
    await this.hang(request);
    return request.raw.socket.destroyed;
  }

  /** Hangs until the client hangs up (or a minute passes): a request "timing out". */
  private async hang(request: FastifyRequest): Promise<void> {
    this.counts.hung++;
    const socket = request.raw.socket;
    await Promise.race([this.wait(HANG_LIMIT_MS), new Promise<void>((resolve) => socket.once('close', resolve))]);
  }

  private async wait(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.closing.signal }).catch(() => {});
  }
}
