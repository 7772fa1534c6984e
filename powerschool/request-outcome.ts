/**
 * The outcome of one HTTP exchange with PowerSchool, as a metric label: a small, fixed set of
 * values (never a URL, a school or a status text), so on-call can see 429s and 5xx per fleet.
 */
export type PowerSchoolRequestOutcome =
  | 'ok'
  | 'rate_limited'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'client_error'
  | 'server_error'
  | 'network_error'
  | 'aborted';

export const POWERSCHOOL_REQUEST_OUTCOMES: readonly PowerSchoolRequestOutcome[] = [
  'ok',
  'rate_limited',
  'unauthorized',
  'forbidden',
  'not_found',
  'client_error',
  'server_error',
  'network_error',
  'aborted',
];

export function outcomeOfStatus(status: number): PowerSchoolRequestOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server_error';
  return 'client_error';
}

/** A request that got no answer: cancelled by us (the activity's signal), or lost on the network. */
export function outcomeOfFailure(signal: AbortSignal | undefined): PowerSchoolRequestOutcome {
  return signal?.aborted ? 'aborted' : 'network_error';
}

/** Told of every exchange (the worker counts them); must not throw. */
export type PowerSchoolRequestObserver = (outcome: PowerSchoolRequestOutcome) => void;
