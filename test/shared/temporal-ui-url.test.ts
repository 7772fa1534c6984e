import { describe, expect, it } from 'vitest';
import { temporalUiUrl } from '../../shared/temporal-ui-url.js';

describe('temporalUiUrl', () => {
  const temporal = { uiUrl: 'http://ui:8233', namespace: 'sync/prod' };

  it('links a workflow, and one execution of it when the run id is known', () => {
    expect(temporalUiUrl(temporal, 'powerschool-sync-s1-manual-1')).toBe(
      'http://ui:8233/namespaces/sync%2Fprod/workflows/powerschool-sync-s1-manual-1',
    );
    expect(temporalUiUrl(temporal, 'w', null)).toBe('http://ui:8233/namespaces/sync%2Fprod/workflows/w');
    expect(temporalUiUrl(temporal, 'w 1', 'r/1')).toBe('http://ui:8233/namespaces/sync%2Fprod/workflows/w%201/r%2F1');
  });
});
