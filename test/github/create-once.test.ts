import { describe, expect, it } from 'vitest';
import { createOnce } from '../../src/github/create-once.ts';

const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });

/** A fake GitHub collection: `create` adds one item, then may still fail with `answers[n]`. */
function world(answers: readonly ('ok' | 'lost' | 'refused' | 'down')[]) {
  const items: number[] = [];
  let call = 0;
  const waits: number[] = [];
  const create = async (): Promise<number> => {
    const answer = answers[call++] ?? 'ok';
    if (answer === 'refused') throw httpError(422);
    if (answer === 'down') throw httpError(502);
    items.push(items.length + 1);
    if (answer === 'lost') throw httpError(502);
    return items.length;
  };
  const find = async (): Promise<number | undefined> => items.at(-1);
  return { items, create, find, waits, sleep: async (ms: number) => void waits.push(ms), calls: () => call };
}

describe('createOnce', () => {
  it('reuses what an attempt whose answer was lost created, instead of creating it again', async () => {
    const w = world(['lost']);
    expect(await createOnce({ create: w.create, find: w.find, sleep: w.sleep })).toBe(1);
    expect(w.items).toEqual([1]);
    expect(w.calls()).toBe(1);
  });

  it('sends the create again after a 5xx that created nothing, waiting the given delays', async () => {
    const w = world(['down', 'down', 'ok']);
    expect(await createOnce({ create: w.create, find: w.find, delaysMs: [5, 7, 9], sleep: w.sleep })).toBe(1);
    expect(w.items).toEqual([1]);
    expect(w.waits).toEqual([5, 7]);
  });

  it('gives up with the last error once the delays are used up', async () => {
    const w = world(['down', 'down', 'down']);
    await expect(createOnce({ create: w.create, find: w.find, delaysMs: [1, 1], sleep: w.sleep })).rejects.toMatchObject({ status: 502 });
    expect(w.calls()).toBe(3);
    expect(w.items).toEqual([]);
  });

  it('does not retry a refusal (4xx) that created nothing', async () => {
    const w = world(['refused']);
    await expect(createOnce({ create: w.create, find: w.find, sleep: w.sleep })).rejects.toMatchObject({ status: 422 });
    expect(w.calls()).toBe(1);
  });

  it('reports the create error, not the lookup error, when the lookup fails too', async () => {
    const w = world(['refused']);
    const find = async () => Promise.reject(httpError(503));
    await expect(createOnce({ create: w.create, find, sleep: w.sleep })).rejects.toMatchObject({ status: 422 });
  });

  it('does not retry an error that is not GitHub answering (a bug)', async () => {
    let calls = 0;
    const create = async (): Promise<number> => {
      calls += 1;
      throw new TypeError('boom');
    };
    await expect(createOnce({ create, find: async () => undefined, sleep: async () => {} })).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });
});
