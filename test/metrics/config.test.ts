import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

/** API_METRICS_PORT and WORKER_METRICS_PORT, as the contract defines them. */
describe('metrics ports', () => {
  const production = { API_TOKENS: 'x'.repeat(32), SECRETS_KEY: Buffer.alloc(32, 1).toString('base64') };

  it('default to 9465 (API) and 9464 (worker); 0 turns each off', () => {
    expect(loadConfig(production, 'api').metrics).toEqual({ apiPort: 9465, workerPort: 9464 });
    expect(loadConfig({ ...production, API_METRICS_PORT: '0', WORKER_METRICS_PORT: '0' }, 'api').metrics).toEqual({
      apiPort: null,
      workerPort: null,
    });
    expect(
      loadConfig({ ...production, API_METRICS_PORT: '9100', WORKER_METRICS_PORT: '9101' }, 'worker').metrics,
    ).toEqual({
      apiPort: 9100,
      workerPort: 9101,
    });
  });

  it('are off under NODE_ENV=test unless set', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).metrics).toEqual({ apiPort: null, workerPort: null });
    expect(loadConfig({ NODE_ENV: 'test', WORKER_METRICS_PORT: '9464' }).metrics.workerPort).toBe(9464);
  });

  it('refuse a value that is not a port, naming the variable', () => {
    expect(() => loadConfig({ ...production, API_METRICS_PORT: 'abc' }, 'api')).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, WORKER_METRICS_PORT: '70000' }, 'worker')).toThrow(/^WORKER_METRICS_PORT/);
  });
});
