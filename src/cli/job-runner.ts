import { KeyInventoryReader } from '../kms/inventory.ts';
import { keySourcesFromEnvironment } from '../keys/sources.ts';
import { runRekeyJob, type RekeyJobOptions, type RekeyJobResult } from '../rekey/job.ts';

/**
 * Runs the repository job with the environment's keys (`SOPS_AGE_KEY*`, `GNUPGHOME`, Cloud KMS from
 * `KMS_EMULATOR_HOST`, `GOOGLE_OAUTH_ACCESS_TOKEN` or ADC), showing progress on a terminal.
 */
export async function runJobFromEnvironment(options: Omit<RekeyJobOptions, 'sources' | 'inventory' | 'kms'>): Promise<RekeyJobResult> {
  const keys = keySourcesFromEnvironment();
  const progress = process.stderr.isTTY
    ? (done: number, total: number) => process.stderr.write(`\rclassifying ${done}/${total} files${done === total ? '\n' : ''}`)
    : undefined;
  try {
    // Building the client does no I/O: credentials are looked up on the first call, which only
    // happens when a file has a Cloud KMS entry.
    const client = keys.kmsClient();
    return await runRekeyJob({
      ...options,
      sources: keys.sources,
      inventory: new KeyInventoryReader(client),
      kms: client,
      ...(progress ? { onProgress: progress } : {}),
    });
  } finally {
    await keys.close();
  }
}
