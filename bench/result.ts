/** One figure a benchmark measured, with the target the issue set for it. */
export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Human-readable target, e.g. `<= 2x`; absent when the figure is informative only. */
  readonly target?: string;
  /** Whether the figure meets its target. */
  readonly ok?: boolean;
}

/** A benchmark module under `bench/` exports `run` with this shape, and prints its figures as JSON lines when run on its own (`bench/run.ts` runs each so). */
export type Benchmark = () => Promise<readonly BenchFigure[]>;
