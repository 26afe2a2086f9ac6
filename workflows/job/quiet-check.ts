// The main loop's "no chunk reported for a while" check (patch lean-job-wakes): one timer kept
// across wakes. A wait that ends on a report costs no timer; the check is due once a whole timer
// window passed with no report, as before, when each wait had its own timeout.
import { condition, sleep } from '@temporalio/workflow';

export class QuietCheck {
  readonly #windowMs: number;
  #armed = false;
  #due = false;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /**
   * Waits until `woken()` or the check is due; true when woken. `reports()` counts the reports so
   * far: a window in which it moved re-arms without a check.
   */
  async until(woken: () => boolean, reports: () => number): Promise<boolean> {
    if (!this.#armed && !this.#due) this.#arm(reports);
    await condition(() => woken() || this.#due);
    if (woken()) return true;
    this.#due = false;
    return false;
  }

  #arm(reports: () => number): void {
    this.#armed = true;
    const seen = reports();
    void sleep(this.#windowMs).then(
      () => {
        this.#armed = false;
        if (reports() === seen) this.#due = true;
        else this.#arm(reports);
      },
      () => {
        // Cancelled with the job: the cancel branch has checks of its own.
        this.#armed = false;
      },
    );
  }
}
