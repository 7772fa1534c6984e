// The JSON body parser, except that an empty body with Content-Type: application/json means "no body".
import fp from 'fastify-plugin';

export default fp(
  async (app) => {
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
      parseJson(request, body as string, done);
    });
  },
  { name: 'json-body' },
);
