/** Functions the off-thread tests call in the worker: they tell which thread ran them. */
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, threadId } from 'node:worker_threads';

export async function whereAmI(label: string, waitMs = 0): Promise<{ label: string; isMainThread: boolean; threadId: number }> {
  await sleep(waitMs);
  return { label, isMainThread, threadId };
}

export function refuse(reason: string): never {
  const error = new Error(`refused: ${reason}`);
  error.name = 'RefusalError';
  throw error;
}
