// JSON-safe types shared by workflows, activities and clients. Types only: safe in the sandbox.

/** What {@link healthCheckWorkflow} returns: a worker's configuration, never its secrets. */
export interface WorkerHealth {
  readonly openaiBaseUrl: string;
  readonly apiKeyConfigured: boolean;
  readonly storageRoot: string;
  readonly nodeVersion: string;
  /** The provider the worker talks to (`openai`, `azure`, `groq`, `compatible`); absent from workers before it. */
  readonly provider?: string;
}

/** Input of {@link healthCheckWorkflow}. */
export interface HealthCheckInput {
  /** Free text echoed in the workflow's summary, e.g. who asked. */
  readonly requestedBy?: string;
}
