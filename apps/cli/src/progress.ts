/**
 * A one-line progress bar on stderr for long copies, shown only when stderr is a terminal.
 * Updates at most ten times a second; `done()` clears the line.
 */
export class Progress {
  private last = 0;
  private readonly start = Date.now();
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  update(done: number): void {
    if (!this.enabled || this.total <= 0) return;
    const now = Date.now();
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
    if (this.enabled && this.total > 0) process.stderr.write('\r\x1b[K');
  }
}
