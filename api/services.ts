// What every route needs (configuration, database, Temporal, the secret box, the PowerSchool probe, the logger), built once per app.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { SecretBox } from '../secrets/secret-box.js';
import { createPowerSchoolProbe, type PowerSchoolProbe } from './powerschool-probe.js';

export interface Services {
  config: Config;
  db: Db;
  temporal: Client;
  box: SecretBox;
  powerSchool: PowerSchoolProbe;
  logger: Logger;
}

export function createServices(deps: {
  config: Config;
  db: Db;
  temporalClient: Client;
  logger: Logger;
  /** The API's PowerSchool calls; each defaults to the real PowerSchool client. */
  powerSchool?: Partial<PowerSchoolProbe>;
}): Services {
  return {
    config: deps.config,
    db: deps.db,
    temporal: deps.temporalClient,
    box: new SecretBox(deps.config.secretsKeys),
    powerSchool: { ...createPowerSchoolProbe(deps.config, deps.logger), ...deps.powerSchool },
    logger: deps.logger,
  };
}
