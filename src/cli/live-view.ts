/**
 * Redraws a block of text in place on a terminal: each frame moves the cursor back to the first line
 * of the one before and clears below it (ANSI CSI F and J), as `watch` or `zrepl status` show a view.
 * Lines are cut to the terminal's width and the frame to its height, so the cursor math stays true.
 */
export class LiveView {
  private drawn = 0;

  constructor(private readonly out: { write(s: string): unknown; columns?: number; rows?: number }) {}

  draw(text: string): void {
    const width = this.out.columns || 80;
    const height = Math.max(1, (this.out.rows || 24) - 1);
    const lines = text.split('\n').slice(0, height).map((l) => (l.length > width ? l.slice(0, width) : l));
    const back = this.drawn ? `\x1b[${this.drawn}F` : '';
    this.out.write(`${back}\x1b[J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
