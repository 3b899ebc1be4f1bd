import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RequestIdVariables } from 'hono/request-id';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AnvilError, errorBody, LimitError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ErrorPage } from './components/ErrorPage.js';
import { isApiPath } from './deps.js';
import type { SessionVariables } from './middleware/session.js';

/** The root app's context: a request id always, the operator once a route has signed them in. */
export type RootEnv = { Variables: RequestIdVariables & Partial<SessionVariables> };

/** Page titles by status, for the HTML error page. */
const TITLES: Record<number, string> = {
  400: 'That did not work',
  401: 'Sign in first',
  403: 'Not allowed',
  404: 'Page not found',
  409: 'That clashes with something',
  429: 'Too many attempts',
};

/** Messages for errors raised by Hono's own middleware (an HTTPException), by status. */
const HTTP_MESSAGES: Record<number, { code: string; message: string }> = {
  403: {
    code: 'csrf',
    message: 'This form was sent from another site, so it was refused. Reload the console and try again.',
  },
  413: { code: 'too_large', message: 'The request is too large.' },
};

/** Answers an error as Anvil's JSON body on the API, or as a friendly page elsewhere. */
function respond(c: Context<RootEnv>, err: AnvilError, requestId?: string) {
  const status = err.status as ContentfulStatusCode;
  if (err instanceof LimitError) c.header('Retry-After', String(err.retryAfterSeconds));
  if (isApiPath(c.req.path)) return c.json(errorBody(err), status);
  const title = TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'That did not work');
  return c.html(
    <ErrorPage status={status} title={title} message={err.message} requestId={requestId} operator={c.var.operator} />,
    status,
  );
}

/**
 * The console's one error handler. Anvil's own errors keep their status, code and message;
 * Hono's (a refused CSRF check) get a readable one; anything else is logged with the
 * request id and answered 500 without details.
 */
export function errorHandler(logger: Logger): ErrorHandler<RootEnv> {
  return (err, c) => {
    const requestId = c.var.requestId;
    if (err instanceof AnvilError) {
      if (err.status >= 500) logger.error({ err, requestId, path: c.req.path }, 'request failed');
      return respond(c, err, err.status >= 500 ? requestId : undefined);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const known = HTTP_MESSAGES[err.status] ?? { code: 'bad_request', message: err.message || 'Bad request.' };
      return respond(c, new AnvilError(known.code, known.message, err.status));
    }
    logger.error({ err, requestId, method: c.req.method, path: c.req.path }, 'unexpected error');
    const internal = new AnvilError(
      'internal',
      'Something went wrong on our side. Try again; if it keeps happening, give the operator this request id.',
      500,
    );
    return respond(c, internal, requestId);
  };
}

/** 404 for every path no route claims, in the same two shapes. */
export const notFoundHandler: NotFoundHandler<RootEnv> = (c) =>
  respond(
    c,
    new AnvilError(
      'not_found',
      isApiPath(c.req.path)
        ? `There is no ${c.req.method} ${c.req.path} in the API.`
        : 'There is no page at this address. It may have moved, or the link may be mistyped.',
      404,
    ),
  );
