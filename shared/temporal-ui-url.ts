// Links into the Temporal UI: the API's run JSON (temporal.uiUrl) and the run email both build them here.

/** `${uiUrl}/namespaces/<ns>/workflows/<workflowId>[/<runId>]`, every segment URL-encoded. */
export function temporalUiUrl(
  temporal: { uiUrl: string; namespace: string },
  workflowId: string,
  runId: string | null = null,
): string {
  const base = `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}
