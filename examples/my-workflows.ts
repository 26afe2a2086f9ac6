// my-workflows.ts, your worker's workflowsPath: the job workflows next to your own
export * from '../workflows/index.ts';
export { greet } from './greet-workflow.ts';
