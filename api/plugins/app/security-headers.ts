// The security headers of every JSON response (all routes but /docs; 404s and errors included).
import fp from 'fastify-plugin';
import { isDocsRoute } from '../external/docs.js';

/**
 * The headers that matter for an API that serves only JSON, from one constant object. Helmet's
 * full set, with the CSP the Swagger UI needs, applies only under /docs (plugins/external/docs.ts).
 */
const JSON_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

export default fp(
  async (app) => {
    app.addHook('onSend', (request, reply, payload, done) => {
      // A reply header here would override helmet's CSP under /docs.
      if (!isDocsRoute(request.routeOptions.url)) reply.headers(JSON_SECURITY_HEADERS);
      done(null, payload);
    });
  },
  { name: 'security-headers' },
);
