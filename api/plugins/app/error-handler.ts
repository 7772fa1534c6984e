// Every error a route or hook throws is answered in the contract's error shape (api/errors.ts).
import fp from 'fastify-plugin';
import { sendError } from '../../errors.js';

export default fp(
  async (app) => {
    app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  },
  { name: 'error-handler' },
);
