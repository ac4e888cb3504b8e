import type { CryptoKeyRecord, EmulatorState } from './model.ts';

/** What an operation sees: the state already brought up to `now`. */
export interface RequestContext {
  readonly state: EmulatorState;
  readonly now: number;
  /** The version an Encrypt naming only the key uses: the primary, or during the lag the previous one. */
  readonly encryptionVersion: (key: CryptoKeyRecord) => number | undefined;
}
