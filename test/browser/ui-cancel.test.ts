import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { startJobEnv, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';

// Debian's Chromium, never a downloaded browser; these flags keep it off the closed network.
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = fileURLToPath(new URL('../../.test-output/browser/', import.meta.url));

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// A machine without Chromium skips this test, saying so and how to run it; CI
// (OPENAI_BATCH_REQUIRE_BROWSER=1, set by .ci/run) runs it anyway, so that it fails there instead.
const REQUIRED = process.env['OPENAI_BATCH_REQUIRE_BROWSER'] === '1';
const SKIP = !REQUIRED && !executable(CHROMIUM);
const SKIP_NOTICE =
  `browser test skipped: no Chromium at ${CHROMIUM}. To run it, install Debian's chromium ` +
  '(sudo apt-get install chromium) or set CHROMIUM_PATH; OPENAI_BATCH_REQUIRE_BROWSER=1 makes a missing browser fail.';
if (SKIP) console.warn(SKIP_NOTICE);

const TITLE = `an operator cancels a running job from the Temporal Web UI${SKIP ? ` (${SKIP_NOTICE})` : ''}`;

describe.skipIf(SKIP)(TITLE, () => {
  let env: JobEnv;
  let worker: Worker;
  let running: Promise<void>;
  let browser: Browser;

  beforeAll(async () => {
    // One row per second: the batch is still running while the operator looks at it.
    env = await startJobEnv('ui-cancel', { rowsPerSecond: 1 });
    worker = await env.createWorker();
    running = worker.run();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    worker?.shutdown();
    await running;
    await env?.close();
  });

  it('finds the job by a search attribute, sees its details, cancels it, and the batch is cancelled', async () => {
    const name = `ui-nightly-${Date.now()}`;
    const jobId = `${name}-job`;
    await mkdir(join(env.dir, 'storage', 'inputs'), { recursive: true });
    await writeReviewRequests(join(env.dir, 'storage', 'inputs', 'reviews.jsonl'), 60);
    const handle = await startBatchJob(
      env.conn.client,
      {
        jobId,
        name,
        inputUri: `${env.storageRoot}/inputs/reviews.jsonl`,
        endpoint: '/v1/chat/completions',
        wait: { minPollMs: 200, maxPollMs: 1_000, progressRefreshMs: 1_000 },
      },
      { taskQueue: env.taskQueue },
    );
    for (let i = 0; i < 120 && (env.emulator.stats().batchesByStatus['in_progress'] ?? 0) === 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    expect(env.emulator.stats().batchesByStatus['in_progress']).toBe(1);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const ui = devServer().uiUrl;
    // 1. Find it through a search-attribute query, as an operator would in the list view.
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`OpenAIBatchJobName="${name}"`)}`);
    const link = page.locator(`a[href*="/workflows/${jobId}/"]`).first();
    await link.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, '1-job-list.png') });
    await link.click();
    await page.waitForURL(/\/history$/);

    // 2. Its current details (the workflow's live Markdown summary).
    // The UI reads current details through a query that a busy worker may answer late, and it does
    // not ask again by itself: reload until the details are there, as an operator would.
    const userMetadata = page
      .getByRole('tab', { name: 'User Metadata' })
      .or(page.getByText('User Metadata', { exact: true }))
      .first();
    // The UI renders the Markdown inside an iframe: read the text of every frame.
    const allText = async (): Promise<string> =>
      (
        await Promise.all(
          page.frames().map((f) =>
            f
              .locator('body')
              .innerText()
              .catch(() => ''),
          ),
        )
      ).join('\n');
    let details = '';
    for (let attempt = 0; attempt < 15 && !details.includes('cost at most'); attempt++) {
      await userMetadata.click();
      for (let i = 0; i < 10 && !details.includes('cost at most'); i++) {
        await page.waitForTimeout(500);
        details = await allText();
      }
      if (!details.includes('cost at most')) await page.reload();
    }
    expect(details).toContain(`OpenAI batch job ${jobId}: running`);
    expect(details).toMatch(/r1\/c0: \w+ batch_\w+/);
    await page.screenshot({ path: join(SCREENSHOTS, '2-job-current-details.png'), fullPage: true });

    // 3. Request cancellation and confirm it.
    await page.getByRole('button', { name: 'Request Cancellation' }).first().click();
    const dialog = page
      .getByRole('dialog')
      .filter({ hasText: /cancel/i })
      .last();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await handle.result().catch(() => undefined);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    await page.reload();
    await page.getByText('Canceled').or(page.getByText('Cancelled')).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, '3-job-cancelled.png'), fullPage: true });
    await page.close();

    // 4. The cancellation reached OpenAI and the job wrote its report.
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBe(1);
    const storage = openStorage(env.storageRoot);
    expect(await storage.exists(storage.jobUri(jobId, 'report.json'))).toBe(true);
    expect(await storage.exists(storage.jobUri(jobId, 'results.jsonl'))).toBe(true);
  });
});
