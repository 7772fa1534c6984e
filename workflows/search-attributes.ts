// The custom search attributes of sync runs: their keys (for the workflow and its starters) and dev-server flags.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * They are never encrypted and are visible to anyone with UI access: ids and flags only, never
 * student data. deploy/temporal-create-namespace.sh keeps a literal copy (a shell script cannot
 * import this); test/deploy ties it to SEARCH_ATTRIBUTES.
 */
export const SchoolIdKey = defineSearchAttributeKey('SchoolId', SearchAttributeType.KEYWORD);
export const SyncTriggerKey = defineSearchAttributeKey('SyncTrigger', SearchAttributeType.KEYWORD);
export const TestRunKey = defineSearchAttributeKey('TestRun', SearchAttributeType.BOOL);
/** `held` while a commit waits for a person (on-call's `SyncStatus="held"`); unset otherwise. */
export const SyncStatusKey = defineSearchAttributeKey('SyncStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [SchoolIdKey, SyncTriggerKey, TestRunKey, SyncStatusKey] as const;

/** How the Temporal CLI spells each type (`--search-attribute Name=Type`, `--type Type`). */
const CLI_TYPE_NAMES = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
} as const satisfies Record<SearchAttributeType, string>;

/** `[name, CLI type]` of every attribute, e.g. `['SchoolId', 'Keyword']`. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: ReadonlyArray<readonly [string, string]> = SEARCH_ATTRIBUTES.map(
  (key) => [key.name, CLI_TYPE_NAMES[key.type]] as const,
);

/** Name → type, in the form the dev server's `--search-attribute` flag takes. */
export const SEARCH_ATTRIBUTE_FLAGS = SEARCH_ATTRIBUTE_CLI_TYPES.map(([name, type]) => `${name}=${type}`);
