/**
 * A one-line progress bar on stderr for long copies, shown only when stderr is a terminal.
 * Unless asked for explicitly, nothing is drawn in a copy's first quarter second (a short copy needs no bar, and asking whether
 * stderr is a terminal builds node's stderr stream, which a quick command should not pay for).
 * Updates at most ten times a second; `done()` clears the line.
 */
export class Progress {
  private last = 0;
  private readonly start = Date.now();
  private shown: boolean | undefined;
  constructor(
    private readonly label: string,
    private readonly total: number,
    /** Draw at all: a flag, or a question asked once, when the bar is first due. */
    private readonly enabled: boolean | (() => boolean),
  ) {}

  /** Whether the bar is drawn; decided once, after the quiet start. */
  private active(now: number): boolean {
    if (this.shown === undefined) {
      if (this.enabled === false || this.total <= 0) this.shown = false;
      else if (this.enabled === true) this.shown = true; // asked for explicitly (--progress)
      else if (now - this.start < QUIET_START_MS) return false;
      else this.shown = this.enabled();
    }
    return this.shown;
  }

  update(done: number): void {
    const now = Date.now();
    if (!this.active(now)) return;
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const fill = Math.round(frac * width);
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? done / secs / (1 << 20) : 0;
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${rate.toFixed(1)} MiB/s`,
    );
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}

/** A copy that ends sooner than this shows no bar. */
const QUIET_START_MS = 250;
