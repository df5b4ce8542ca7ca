import cliProgress from 'cli-progress';
import type { Report } from '../replication/report.js';
import { humanBytes } from '../util/bytes.js';

/**
 * Shows a run's progress: bars per filesystem on a terminal, one line per state change
 * otherwise (stderr either way: stdout is for the report).
 */
export class RunProgress {
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly multi: cliProgress.MultiBar | null;
  private readonly lastState = new Map<string, string>();
  private runState = '';

  constructor(private readonly label: string, enabled: boolean) {
    this.multi = enabled && process.stderr.isTTY
      ? new cliProgress.MultiBar({
        stream: process.stderr,
        clearOnComplete: false,
        hideCursor: true,
        format: ' {name} |{bar}| {value}/{total} steps | {bytes} | {state}',
      }, cliProgress.Presets.shades_classic)
      : null;
  }

  update(r: Report): void {
    if (!this.multi) {
      if (r.state !== this.runState) process.stderr.write(`ferry: ${this.label} ${r.id}: ${r.state}${r.problem ? ` (${r.problem})` : ''}\n`);
      this.runState = r.state;
      for (const f of r.filesystems) {
        if (this.lastState.get(f.name) !== f.state) {
          process.stderr.write(`ferry:   ${f.name}: ${f.state} ${f.stepsDone}/${f.stepsTotal} steps, ${humanBytes(f.bytes)}${f.problem ? ` (${f.problem})` : ''}\n`);
          this.lastState.set(f.name, f.state);
        }
      }
      return;
    }
    for (const f of r.filesystems) {
      const eta = f.currentStep?.etaSeconds;
      const state = f.problem ? `${f.state}: ${f.problem}`.slice(0, 60) : eta !== undefined && eta !== null ? `${f.state}, ETA ${eta}s` : f.state;
      const payload = { name: f.name.padEnd(16).slice(0, 16), bytes: humanBytes(f.bytes).padStart(10), state };
      let bar = this.bars.get(f.name);
      if (!bar) {
        bar = this.multi.create(Math.max(1, f.stepsTotal), f.stepsDone, payload);
        this.bars.set(f.name, bar);
      }
      bar.setTotal(Math.max(1, f.stepsTotal));
      bar.update(f.stepsDone, payload);
    }
  }

  stop(): void {
    this.multi?.stop();
  }
}
