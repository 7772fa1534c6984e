// createActivities(deps): every activity the syncStudents workflow calls.
import type { ActivityDeps } from './deps.js';
import { makeApplyRun } from './apply-run.js';
import { makeBeginRun, makeRecordExecution } from './begin-run.js';
import { makeFetchPage, makePlanRun } from './fetch-pages.js';
import { makeFinishRun } from './finish-run.js';
import { makeLookupDepartures } from './lookup-departures.js';
import { makeApplyHeldRun, makeDiscardHeldRun, makeNotifyHold, makeResumeHeldRun } from './hold.js';
import { makeMarkNotificationFailed, makeNotify } from './notify.js';
import type { SyncActivities } from './types.js';

export type { ActivityDeps, StudentSourceFactory } from './deps.js';
export type * from './types.js';

/**
 * The sync activities, as thin adapters over db/, powerschool/ and email/. Built from their
 * dependencies so tests and the demo can pass their own (a Temporal client, an email sender…).
 */
export function createActivities(deps: ActivityDeps): SyncActivities {
  return {
    beginRun: makeBeginRun(deps),
    recordExecution: makeRecordExecution(deps),
    planRun: makePlanRun(deps),
    fetchPage: makeFetchPage(deps),
    lookupDepartures: makeLookupDepartures(deps),
    applyRun: makeApplyRun(deps, 'commit'),
    previewRun: makeApplyRun(deps, 'preview'),
    finishRun: makeFinishRun(deps),
    notify: makeNotify(deps),
    markNotificationFailed: makeMarkNotificationFailed(deps),
    notifyHold: makeNotifyHold(deps),
    resumeHeldRun: makeResumeHeldRun(deps),
    applyHeldRun: makeApplyHeldRun(deps),
    discardHeldRun: makeDiscardHeldRun(deps),
  };
}
