/** A workflow of your own, bundled with the job workflows by `my-workflows.ts`. */
export function greet(name: string): Promise<string> {
  return Promise.resolve(`hello, ${name}`);
}
