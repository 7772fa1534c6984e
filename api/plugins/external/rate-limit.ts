// @fastify/rate-limit, off by default on every route: the auth plugin applies it to /v1 requests with a valid token.
import fastifyRateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { ApiError } from '../../errors.js';

export default fp(
  async (app) => {
    await app.register(fastifyRateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) =>
        new ApiError(429, 'RATE_LIMITED', `Too many requests; retry after ${context.after}`),
    });
  },
  { name: 'rate-limit' },
);
