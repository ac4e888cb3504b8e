/**
 * What every fuzz case must end in: a result, or a typed `SopsRekeyError` with a code whose
 * message holds no secret. Cases are timed; a case only fails on time when it is absurdly slow
 * (a hang in all but name), so the suite never depends on machine speed.
 */
import { performance } from 'node:perf_hooks';
import { DataKeyUnavailableError, SopsRekeyError } from '../../../src/errors.ts';

/** A single case over this is treated as a hang. Real cases take milliseconds. */
export const ABSURD_CASE_MS = 10_000;

export interface FuzzStats {
  readonly name: string;
  cases: number;
  succeeded: number;
  maxMs: number;
  totalMs: number;
  /** How many cases ended in each error code (`FormatError:bad-metadata`). */
  readonly errors: Map<string, number>;
}

export function newStats(name: string): FuzzStats {
  return { name, cases: 0, succeeded: 0, maxMs: 0, totalMs: 0, errors: new Map() };
}

export type CaseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SopsRekeyError };

/**
 * Runs one case: returns its value, or the typed error it threw. Anything else thrown (a
 * `TypeError`, a `RangeError` from a runaway recursion, a bare `Error`) fails the case, as does a
 * typed error without a code or whose text contains one of `secrets`.
 */
export async function runCase<T>(stats: FuzzStats, secrets: readonly string[], work: () => Promise<T> | T): Promise<CaseResult<T>> {
  const started = performance.now();
  let result: CaseResult<T>;
  try {
    result = { ok: true, value: await work() };
  } catch (error) {
    if (!(error instanceof SopsRekeyError)) {
      const what = error instanceof Error ? `${error.constructor.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
      throw new Error(`untyped failure (not a SopsRekeyError): ${what}`);
    }
    if (typeof error.code !== 'string' || error.code === '') throw new Error(`${error.name} without a code: ${error.message}`);
    assertNoSecret(error, secrets);
    result = { ok: false, error };
  }
  const elapsed = performance.now() - started;
  if (elapsed > ABSURD_CASE_MS) throw new Error(`one case took ${Math.round(elapsed)} ms: treated as a hang`);
  stats.cases++;
  stats.totalMs += elapsed;
  stats.maxMs = Math.max(stats.maxMs, elapsed);
  if (result.ok) stats.succeeded++;
  else {
    const key = `${result.error.name}:${result.error.code}`;
    stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
  }
  return result;
}

/** Every text an error shows: message, `describe()`, the cause chain, key attempts. */
export function errorTexts(error: unknown): string[] {
  const texts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    if (current instanceof SopsRekeyError) texts.push(current.describe());
    if (current instanceof DataKeyUnavailableError) texts.push(...current.attempts.map((a) => `${a.key} ${a.reason}`));
    if (current instanceof Error) {
      texts.push(current.message, current.stack ?? '');
      current = current.cause;
    } else {
      texts.push(String(current));
      current = undefined;
    }
  }
  return texts;
}

function assertNoSecret(error: SopsRekeyError, secrets: readonly string[]): void {
  for (const text of errorTexts(error)) {
    for (const secret of secrets) {
      if (secret !== '' && text.includes(secret)) {
        throw new Error(`${error.name} (${error.code}) shows a secret value (${JSON.stringify(secret.slice(0, 40))}) in its text`);
      }
    }
  }
}

/** One line per stats block, for the heavy script and the doc. */
export function formatStats(stats: FuzzStats): string {
  const top = [...stats.errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([code, n]) => `${code}×${n}`);
  return (
    `${stats.name}: ${stats.cases} cases, ${stats.succeeded} succeeded, max ${stats.maxMs.toFixed(1)} ms/case, ` +
    `mean ${(stats.totalMs / Math.max(1, stats.cases)).toFixed(2)} ms/case; errors: ${top.join(', ') || 'none'}`
  );
}
