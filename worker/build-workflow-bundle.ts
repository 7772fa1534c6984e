import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

/**
 * Bundles the workflow code (workflows/index.ts) with the Temporal SDK's webpack bundler and
 * writes it to a file:
 *
 *   node --import tsx worker/build-workflow-bundle.ts <outFile> [workflowsPath]
 *
 * createWorker runs this as a short-lived child process, so webpack's memory is not left behind
 * in the worker; run by hand (or in the Docker build) it prebuilds the bundle that
 * WORKFLOW_BUNDLE_PATH points the worker at. The file is written whole or not at all.
 */

const [outArg, workflowsArg] = process.argv.slice(2);
if (!outArg || outArg.startsWith('-')) {
  process.stderr.write('usage: node --import tsx worker/build-workflow-bundle.ts <outFile> [workflowsPath]\n');
  process.exit(2);
}
const outFile = resolve(outArg);
const ownExtension = extname(fileURLToPath(import.meta.url));
const workflowsPath = workflowsArg
  ? resolve(workflowsArg)
  : fileURLToPath(new URL(`../workflows/index${ownExtension}`, import.meta.url));

// Started by createWorker (with an IPC channel): a worker that dies takes its bundler with it.
if (process.send) process.on('disconnect', () => process.exit(1));

const write = (line: string) => process.stderr.write(`${line}\n`);
const partial = `${outFile}.${process.pid}.partial`;
try {
  const bundle = await bundleWorkflowCode({
    workflowsPath,
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (message, meta) => write(`warning: ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}`),
      error: (message, meta) => write(`error: ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}`),
    },
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(partial, bundle.code);
  renameSync(partial, outFile);
  process.stdout.write(`workflow bundle of ${workflowsPath}: ${bundle.code.length} bytes written to ${outFile}\n`);
  process.exit(0);
} catch (err) {
  rmSync(partial, { force: true });
  write(`could not bundle ${workflowsPath}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
}
