/**
 * Builds the demo's Git repository from `fixtures/demo-repo`: every file is copied, every file a
 * `.sops.yaml` creation rule matches is encrypted on the way (with the rule's keys and selector,
 * as `sops encrypt` would), and the result is committed with real git. The plaintext is read from
 * the fixtures and never written into the repository.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../errors.ts';
import type { KeySources } from '../keys/data-key.ts';
import { encryptFile } from '../rekey/transform.ts';
import { type CreationRule, type LoadedSopsConfig, matchCreationRule, nearestSopsConfig, parseSopsConfig, SOPS_CONFIG_NAME } from '../rekey/sops-config.ts';
import type { MasterKey } from '../sops/master-key.ts';
import { formatForPath } from '../sops/sops-file.ts';
import { SELECTOR_KINDS, type Selector } from '../sops/selectors.ts';
import type { StoreFormat } from '../sops/store.ts';

/** Written in the fixtures' `.sops.yaml` where the age recipient generated for this run goes. */
export const AGE_RECIPIENT_PLACEHOLDER = 'DEMO_AGE_RECIPIENT';

export interface BuildRepoOptions {
  /** The plaintext fixture tree. */
  readonly fixtures: string;
  /** An empty directory that becomes the repository. */
  readonly dir: string;
  readonly sources: KeySources;
  /** Replaces {@link AGE_RECIPIENT_PLACEHOLDER} in every `.sops.yaml`. */
  readonly ageRecipient: string;
  /** The Cloud KMS version each key must be wrapped by (version 1 in the demo). */
  readonly gcpVersionFor: (key: string) => string | undefined;
  /** `lastmodified` of the new files and the commit date. */
  readonly now: Date;
}

export interface BuiltFile {
  /** Repository-relative POSIX path. */
  readonly path: string;
  readonly format: StoreFormat;
  /** The Cloud KMS versions and other master keys it was encrypted for (`age`), for the story. */
  readonly keys: readonly string[];
}

export interface BuiltRepo {
  /** The files encrypted, sorted by path. */
  readonly encrypted: readonly BuiltFile[];
  /** Every file committed, sorted by path. */
  readonly files: readonly string[];
}

export async function buildDemoRepository(options: BuildRepoOptions): Promise<BuiltRepo> {
  const files = await listFiles(options.fixtures);
  const texts = new Map<string, Buffer>();
  for (const file of files) texts.set(file, await readFile(path.join(options.fixtures, ...file.split('/'))));

  const configs = new Map<string, LoadedSopsConfig>();
  for (const file of files.filter((f) => path.posix.basename(f) === SOPS_CONFIG_NAME)) {
    const text = texts.get(file)!.toString('utf8').replaceAll(AGE_RECIPIENT_PLACEHOLDER, options.ageRecipient);
    texts.set(file, Buffer.from(text));
    configs.set(file, parseSopsConfig(text, file));
  }

  const encrypted: BuiltFile[] = [];
  for (const file of files) {
    const configPath = nearestSopsConfig(file, configs.keys());
    const config = configPath === null ? undefined : configs.get(configPath);
    const rule = config && path.posix.basename(file) !== SOPS_CONFIG_NAME ? matchCreationRule(config, file) : null;
    if (rule) {
      const format = formatForPath(file);
      const result = await encryptFile(texts.get(file)!, file, options.sources, {
        format,
        keyGroups: keyGroupsOf(rule),
        ...(selectorOf(rule) ? { selector: selectorOf(rule)! } : {}),
        gcpVersionFor: options.gcpVersionFor,
        now: options.now,
      });
      texts.set(file, Buffer.from(result.bytes));
      const versions = result.wrapped.flatMap(({ evidence }) => (evidence.source === 'gcp_kms' ? [evidence.version] : []));
      const others = rule.keyGroups.flat().filter((key) => key.type !== 'gcp_kms').map((key) => key.type);
      encrypted.push({ path: file, format, keys: [...versions, ...others] });
    }
    const target = path.join(options.dir, ...file.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, texts.get(file)!);
  }

  await commitAll(options.dir, 'Sample Flux repository with SOPS secrets', options.now);
  return { encrypted, files };
}

/** Master keys of a creation rule, without `enc` yet: what `encryptFile` wraps into. */
function keyGroupsOf(rule: CreationRule): MasterKey[][] {
  return rule.keyGroups.map((group) =>
    group.map((key): MasterKey => {
      switch (key.type) {
        case 'age':
          return { type: 'age', fields: { recipient: key.id } };
        case 'pgp':
          return { type: 'pgp', fields: { fp: key.id } };
        case 'gcp_kms':
          return { type: 'gcp_kms', fields: { resource_id: key.id } };
        default:
          // The demo's fixtures name only keys the demo can wrap; anything else is a fixture bug.
          throw new UsageError('demo-fixture', `creation rule ${rule.index} names a ${key.type} key, which the demo cannot use`);
      }
    }),
  );
}

function selectorOf(rule: CreationRule): Selector | undefined {
  const kind = SELECTOR_KINDS.find((k) => typeof rule.raw[k] === 'string' && rule.raw[k] !== '');
  return kind === undefined ? undefined : { kind, value: rule.raw[kind]! };
}

/** Every regular file below `root`, repository-relative with `/`, sorted. */
async function listFiles(root: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(path.join(root, prefix), { withFileTypes: true });
  } catch (error) {
    if (prefix === '') throw new UsageError('demo-fixtures', `cannot read the fixture folder ${root}: ${(error as Error).message}`);
    throw error;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(root, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/**
 * Runs git in the demo repository with a fixed identity and none of the user's hooks, signing,
 * templates or `GIT_*` variables (a `GIT_DIR` inherited from a hook would point git elsewhere),
 * so the demo behaves the same on every machine.
 */
export async function git(dir: string, args: readonly string[], date?: Date): Promise<string> {
  const stamp = date?.toISOString();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));
  try {
    const result = await execa('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
      cwd: dir,
      extendEnv: false,
      env: {
        ...inherited,
        GIT_AUTHOR_NAME: 'sops-rekey demo',
        GIT_AUTHOR_EMAIL: 'demo@sops-rekey.invalid',
        GIT_COMMITTER_NAME: 'sops-rekey demo',
        GIT_COMMITTER_EMAIL: 'demo@sops-rekey.invalid',
        // Neither the machine's nor the user's git config applies.
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        ...(stamp ? { GIT_AUTHOR_DATE: stamp, GIT_COMMITTER_DATE: stamp } : {}),
      },
      stripFinalNewline: false,
    });
    return result.stdout;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') throw new UsageError('git-missing', 'the demo needs git on PATH to build its sample repository');
    throw error;
  }
}

/** `git init` when needed, then one commit of everything in the work tree. */
export async function commitAll(dir: string, message: string, date: Date): Promise<void> {
  await git(dir, ['init', '--quiet']);
  await git(dir, ['add', '--all']);
  await git(dir, ['commit', '--quiet', '--no-verify', '-m', message], date);
}
