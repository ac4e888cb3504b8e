/**
 * Rotating a SOPS file, against the floor any rotation has to pay: raw AES-256-GCM decrypting and
 * encrypting the same values. Also the peak RSS of rotating a 5 MiB file, in a child process so
 * the figure is that rotation's alone.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AgeKeySource } from '../src/keys/age.ts';
import { encryptFile, rotateFile } from '../src/rekey/transform.ts';
import type { BenchFigure } from './result.ts';

// A throwaway identity made for this benchmark run; it protects nothing.
async function benchKeys() {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  return { sources: { age: new AgeKeySource([identity]) }, keyGroups: [[{ type: 'age' as const, fields: { recipient } }]] };
}

/** A Kubernetes-ish YAML document with `count` string values under a few nested mappings. */
export function generateYaml(count: number, valueBytes = 24): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) lines.push(`group${i / 100}:`);
    lines.push(`    key${i}: ${randomBytes(valueBytes).toString('base64url')}`);
  }
  return `${lines.join('\n')}\n`;
}

function rawAesRoundTrips(values: readonly Buffer[]): void {
  const key = randomBytes(32);
  for (const value of values) {
    const iv = randomBytes(32);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from('group:key:'));
    const data = Buffer.concat([cipher.update(value), cipher.final()]);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from('group:key:'));
    decipher.setAuthTag(cipher.getAuthTag());
    Buffer.concat([decipher.update(data), decipher.final()]);
  }
}

async function best(runs: number, work: () => Promise<unknown> | unknown): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

export async function run(): Promise<BenchFigure[]> {
  const { sources, keyGroups } = await benchKeys();
  const count = 10_000;
  const plaintext = Buffer.from(generateYaml(count));
  const { bytes: encrypted } = await encryptFile(plaintext, 'bench.yaml', sources, { keyGroups });
  const values = Array.from({ length: count }, () => randomBytes(24));

  const rotateMs = await best(5, () => rotateFile(encrypted, 'bench.yaml', sources));
  const rawMs = await best(5, () => rawAesRoundTrips(values));
  const ratio = rotateMs / rawMs;

  const rssMiB = Number(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--peak-rss'], { encoding: 'utf8' }).trim(),
  );
  return [
    { name: 'rotate 10,000-value YAML', value: round(rotateMs), unit: 'ms' },
    { name: 'raw AES-256-GCM decrypt+encrypt of the same values', value: round(rawMs), unit: 'ms' },
    { name: 'rotate / raw AES', value: round(ratio), unit: 'x', target: '<= 2x', ok: ratio <= 2 },
    { name: 'peak RSS rotating a 5 MiB YAML file', value: round(rssMiB), unit: 'MiB', target: '< 200 MiB', ok: rssMiB < 200 },
  ];
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** Child mode: rotate a 5 MiB file once and print the process's peak RSS in MiB. */
if (process.argv.includes('--peak-rss')) {
  const { sources, keyGroups } = await benchKeys();
  let text = '';
  for (let count = 50_000; Buffer.byteLength(text) < 5 * 1024 * 1024; count += 10_000) text = generateYaml(count, 48);
  const { bytes } = await encryptFile(Buffer.from(text), 'big.yaml', sources, { keyGroups });
  const encrypted = bytes.subarray(0, bytes.length);
  await rotateFile(encrypted, 'big.yaml', sources);
  process.stdout.write(`${process.resourceUsage().maxRSS / 1024}\n`);
}
