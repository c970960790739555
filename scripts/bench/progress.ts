/**
 * A one-line progress bar on stderr (redrawn with `\r`), so stdout carries only the
 * summary and can be piped. Without a terminal (CI, Jest, a pipe) it prints one line
 * per phase instead of redrawing.
 */
export class Progress {
  private label = '';
  private total = 0;
  private done = 0;
  private startedAt = 0;
  private lastDraw = 0;
  private note = '';
  private active = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled: boolean = true,
  ) {}

  private get live(): boolean {
    return this.enabled && this.stream.isTTY === true;
  }

  /** A line of its own (clears the bar first, redraws it after). */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.live && this.active) this.stream.write('\r\x1b[2K');
    this.stream.write(`${line}\n`);
    if (this.active) this.draw(true);
  }

  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.done = 0;
    this.note = '';
    this.startedAt = performance.now();
    this.active = true;
    if (this.enabled && !this.live) this.stream.write(`[bench] ${label}: ${total}\n`);
    this.draw(true);
  }

  update(done: number, note = ''): void {
    this.done = done;
    this.note = note;
    this.draw(false);
  }

  finish(summary = ''): void {
    if (!this.active) return;
    this.draw(true);
    this.active = false;
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1);
    if (this.live) this.stream.write('\n');
    else if (this.enabled) this.stream.write(`[bench] ${this.label}: ${this.done}/${this.total} in ${seconds} s${summary ? ` (${summary})` : ''}\n`);
  }

  private draw(force: boolean): void {
    if (!this.live || !this.active) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 20;
    const share = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(share * width);
    const seconds = (now - this.startedAt) / 1000;
    const rate = seconds > 0 ? (this.done / seconds).toFixed(1) : '0.0';
    const line = `${this.label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}  ${rate}/s  ${seconds.toFixed(1)}s${this.note ? `  ${this.note}` : ''}`;
    const columns = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
  }
}
