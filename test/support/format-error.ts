/** Helpers for tests that check which SopsFormatError a parser throws. */
import { expect } from 'vitest';
import { SopsFormatError } from '../../src/errors.ts';

/** The `code` of the SopsFormatError `fn` throws, or undefined when it returns; any other error is rethrown. */
export function formatErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof SopsFormatError) return error.code;
    throw error;
  }
  return undefined;
}

/** The SopsFormatError `run` throws; the test fails when it throws something else or nothing. */
export function formatError(run: () => unknown): SopsFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SopsFormatError);
    return error as SopsFormatError;
  }
  throw new Error('expected a SopsFormatError');
}
