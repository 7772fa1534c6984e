// Every workflow the worker registers. Workflow code is deterministic: it imports nothing but
// @temporalio/workflow and types.
export { syncStudents } from './sync-students.js';
