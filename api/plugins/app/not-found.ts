// Unknown routes: 405 with Allow when the path exists under another method, else 404; unknown /v1 paths are guarded first.
import fp from 'fastify-plugin';
import { ApiError, sendError } from '../../errors.js';

/** Known route patterns → methods, to tell a 405 from a 404. */
class RouteTable {
  private readonly routes: Array<{ re: RegExp; methods: Set<string> }> = [];
  add(url: string, methods: string[]) {
    const source = url
      .split('/')
      .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    this.routes.push({ re: new RegExp(`^${source}$`), methods: new Set(methods) });
  }
  methodsFor(path: string): string[] {
    const all = new Set<string>();
    for (const r of this.routes) if (r.re.test(path)) for (const m of r.methods) all.add(m);
    return [...all].sort();
  }
}

/** Registered before any route (it learns them through onRoute) and after the auth plugin. */
export default fp(
  async (app) => {
    const routes = new RouteTable();
    app.addHook('onRoute', (route) => {
      routes.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
    });

    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      try {
        // Unknown /v1 paths are guarded like known ones: 401 (or 429) before 404, and counted.
        if (path === '/v1' || path.startsWith('/v1/')) await app.authGuard(request, reply);
      } catch (err) {
        return sendError(request, reply, err);
      }
      const allowed = routes.methodsFor(path);
      if (allowed.length > 0) {
        return sendError(
          request,
          reply,
          new ApiError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, undefined, {
            allow: allowed.join(', '),
          }),
        );
      }
      return sendError(request, reply, new ApiError(404, 'NOT_FOUND', 'No such route'));
    });
  },
  { name: 'not-found', dependencies: ['auth'] },
);
