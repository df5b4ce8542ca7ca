/**
 * Where a run's time goes, kept in the machines' context. Machines have no clock: an effect
 * measures itself (epoch ms) and returns the times in its output.
 */
export interface EffectTiming {
  /** epoch ms the effect's work started, as the effect measured it */
  startedAt?: number;
  /** epoch ms the effect's work ended */
  finishedAt?: number;
}

/** The completed steps of one filesystem: their summed duration and the span from the first start to the last end. */
export interface StepsTiming {
  stepsMs: number;
  stepsFrom: number | null;
  stepsUntil: number | null;
}

const isTime = (t: unknown): t is number => typeof t === 'number' && Number.isFinite(t) && t > 0;

/** Pure: how long an effect ran by its own times; 0 when it did not say. */
export function effectMs(out: EffectTiming | null | undefined): number {
  return isTime(out?.startedAt) && isTime(out?.finishedAt) ? Math.max(0, out.finishedAt - out.startedAt) : 0;
}

/** Pure: `timing` with one more completed step (unchanged, maybe absent, when the step said no times). */
export function addStepTiming(timing: StepsTiming | undefined, out: EffectTiming | null | undefined): StepsTiming | undefined {
  if (!isTime(out?.startedAt) || !isTime(out?.finishedAt)) return timing;
  const t = timing ?? { stepsMs: 0, stepsFrom: null, stepsUntil: null };
  return {
    stepsMs: t.stepsMs + effectMs(out),
    stepsFrom: t.stepsFrom === null ? out.startedAt : Math.min(t.stepsFrom, out.startedAt),
    stepsUntil: t.stepsUntil === null ? out.finishedAt : Math.max(t.stepsUntil, out.finishedAt),
  };
}

/** Pure: milliseconds covered by at least one of the spans (filesystems working at once overlap). */
export function coveredMs(spans: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...spans].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of sorted) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}
