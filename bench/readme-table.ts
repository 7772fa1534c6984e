import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMarkdown, type ResultsFile } from './report.js';

/**
 * The README's benchmark tables (targets, then the cost curve) as markdown, from a results file:
 *
 *   npx tsx bench/readme-table.ts [results.json]     (default: bench/results.json)
 */

const file = process.argv[2] ?? fileURLToPath(new URL('./results.json', import.meta.url));
const results = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
if (!Array.isArray(results.costCurve) || !results.targets.every((t) => typeof t.detail === 'string')) {
  console.error(`${file} has no cost curve or targets without figures: written by an older bench; run npm run bench`);
  process.exit(1);
}
console.log(renderMarkdown(results));
