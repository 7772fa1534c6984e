// npm run lint's OpenAPI step: Redocly's recommended rules on the document the API serves.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { servedOpenApiDocument } from './openapi-document.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// A fixed path: .redocly.lint-ignore.yaml names its exceptions by it.
const file = join(root, '.scratch', 'openapi.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(await servedOpenApiDocument({}), null, 2)}\n`);

const redocly = join(root, 'node_modules', '.bin', 'redocly');
const result = spawnSync(redocly, ['lint', '--config', join(root, 'redocly.yaml'), '--max-problems', '200', file], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
});
process.exit(result.status ?? 1);
