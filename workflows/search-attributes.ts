// The custom search attributes of sync runs: their keys (for the workflow and its starters) and dev-server flags.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes of sync runs. They are never encrypted and are visible to anyone with
 * UI access: ids and flags only, never student data.
 */
export const SchoolIdKey = defineSearchAttributeKey('SchoolId', SearchAttributeType.KEYWORD);
export const SyncTriggerKey = defineSearchAttributeKey('SyncTrigger', SearchAttributeType.KEYWORD);
export const TestRunKey = defineSearchAttributeKey('TestRun', SearchAttributeType.BOOL);

/** Name → type, in the form the dev server's `--search-attribute` flag takes. */
export const SEARCH_ATTRIBUTE_FLAGS = ['SchoolId=Keyword', 'SyncTrigger=Keyword', 'TestRun=Bool'];
