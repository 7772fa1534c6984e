// Whether a workflow execution is still alive: its status name, or NOT_FOUND.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW… or NOT_FOUND. */
export type WorkflowState = string;

/** The status of the workflow's latest execution, or NOT_FOUND when Temporal has no such workflow. */
export async function workflowState(client: Client, workflowId: string): Promise<WorkflowState> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}
