// The /v1 match-review routes: list a school's reviews, resolve one, reopen one.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentIdMapping } from '../../db/queries/id-mapping.js';
import { listMatchReviews, reopenMatchReview, resolveMatchReview } from '../../db/queries/match-reviews.js';
import { ApiError, notFound, validationFailed } from '../errors.js';
import { errorResponses } from '../operations.js';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../pagination.js';
import {
  emptyBody,
  matchReviewSchema,
  resolveReviewBody,
  reviewParams,
  reviewsPage,
  reviewsQuery,
  schoolParams,
} from '../schemas.js';
import { matchReviewJson } from '../serialize.js';
import type { Services } from '../services.js';

const security = [{ bearerAuth: [] }];
const tags = ['matching'];

export const matchReviewRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const base = '/schools/:schoolId/match-reviews';

  r.get(
    base,
    {
      schema: {
        operationId: 'listMatchReviews',
        tags,
        security,
        summary: 'The school’s match reviews (records a person decides), oldest first',
        params: schoolParams,
        querystring: reviewsQuery,
        response: { 200: reviewsPage, ...errorResponses('listMatchReviews') },
      },
    },
    async (request) => {
      const { schoolId } = request.params;
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const after = request.query.cursor ? decodeCursor('reviews', request.query.cursor) : undefined;
      const page = await listMatchReviews(services.db, schoolId, {
        limit,
        ...(request.query.status ? { status: request.query.status } : {}),
        ...(after ? { afterId: after[0]! } : {}),
      });
      const mapping = page.items.length > 0 ? await currentIdMapping(services.db, schoolId) : 'DCID';
      const last = page.items.at(-1);
      return {
        reviews: page.items.map((review) => matchReviewJson(review, mapping)),
        nextCursor: page.hasMore && last ? encodeCursor('reviews', [last.id]) : null,
      };
    },
  );

  r.post(
    `${base}/:reviewId/resolve`,
    {
      schema: {
        operationId: 'resolveMatchReview',
        tags,
        security,
        summary:
          'Decide a review: link to an unlinked student, create a new one, or ignore the record; the next commit applies it',
        params: reviewParams,
        body: resolveReviewBody,
        response: { 200: matchReviewSchema, ...errorResponses('resolveMatchReview') },
      },
    },
    async (request) => {
      const { schoolId, reviewId } = request.params;
      const result = await resolveMatchReview(services.db, schoolId, reviewId, request.body);
      if (result.outcome === 'not_found') throw notFound('Match review');
      if (result.outcome === 'already_resolved') {
        throw new ApiError(409, 'REVIEW_RESOLVED', 'The review is already resolved; reopen it first');
      }
      if (result.outcome === 'student_not_unlinked') {
        throw validationFailed('studentId', 'is not an unlinked student of this school');
      }
      return matchReviewJson(result.review, await currentIdMapping(services.db, schoolId));
    },
  );

  r.post(
    `${base}/:reviewId/reopen`,
    {
      schema: {
        operationId: 'reopenMatchReview',
        tags,
        security,
        summary: 'Open a review again, its resolution cleared',
        params: reviewParams,
        body: emptyBody,
        response: { 200: matchReviewSchema, ...errorResponses('reopenMatchReview') },
      },
    },
    async (request) => {
      const { schoolId, reviewId } = request.params;
      const review = await reopenMatchReview(services.db, schoolId, reviewId);
      if (!review) throw notFound('Match review');
      return matchReviewJson(review, await currentIdMapping(services.db, schoolId));
    },
  );
};
