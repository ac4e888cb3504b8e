/**
 * Holds the emulator state in memory and, with a state file, shares it between processes: the
 * file is re-read whenever it changed on disk, and written atomically (temporary file + rename)
 * after each mutation, so a reader never sees half a file.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { emptyState, emulatorStateSchema, type EmulatorState } from './model.ts';

export class StateStore {
  readonly #file: string | undefined;
  #state: EmulatorState = emptyState();
  /** Identity of the file version we hold: rename gives each write a new inode. */
  #seen: string | undefined;

  constructor(file?: string) {
    this.#file = file;
    this.#reloadIfChanged();
  }

  /** The current state, re-read from the state file first when another process changed it. */
  current(): EmulatorState {
    this.#reloadIfChanged();
    return this.#state;
  }

  /** Persists the state after a mutation (no-op without a state file). */
  save(): void {
    if (this.#file === undefined) return;
    const tmp = `${this.#file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.#file);
    this.#seen = this.#identity();
  }

  #identity(): string | undefined {
    if (this.#file === undefined) return undefined;
    try {
      const st = statSync(this.#file);
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  #reloadIfChanged(): void {
    if (this.#file === undefined) return;
    const identity = this.#identity();
    if (identity === undefined || identity === this.#seen) return;
    const parsed = emulatorStateSchema.safeParse(JSON.parse(readFileSync(this.#file, 'utf8')));
    if (!parsed.success) {
      throw new Error(`KMS emulator state file ${this.#file} is not a valid state: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    this.#state = parsed.data;
    this.#seen = identity;
  }
}
