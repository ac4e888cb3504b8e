/**
 * The schema of `.github/sops-rekey.yml`, the one place its fields, defaults and limits are
 * defined. A repository's file uses `SopsRekeyConfig`; the organization's `.github` repository
 * may also hold the organization-only fields of `SopsRekeyOrgConfig`, which decide what
 * repositories may ask for (which service accounts they may impersonate) and so must not be
 * settable by the repositories themselves.
 *
 * `schema/sops-rekey.schema.json` is generated from here: `npx node src/github/json-schema.ts`.
 */
import { z } from 'zod';

/** `3h`, `90m`, `1h30m`, `2d`: units d, h, m, s, largest first, at least one. */
const DURATION = /^(?=.)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Milliseconds in a duration string already accepted by the schema. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new RangeError(`not a duration: ${JSON.stringify(text)}`);
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  return ((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000;
}

const Duration = (minimumMs: number, minimumText: string) =>
  z
    .string()
    // abort: the minimum check below must only see well-formed durations.
    .regex(/^(?=.)(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/, {
      error: 'expected a duration like "3h", "90m" or "1h30m"',
      abort: true,
    })
    .refine((text) => parseDuration(text) >= minimumMs, { error: `must be at least ${minimumText}` });

const Glob = z.string().min(1, { error: 'a glob must not be empty' });

const ServiceAccount = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+\.gserviceaccount\.com$/, {
    error: 'expected a service account email like "rekey@my-project.iam.gserviceaccount.com"',
  });

const LabelName = z.string().min(1).max(50, { error: 'GitHub labels are at most 50 characters' });

const Paths = z
  .strictObject({
    include: z.array(Glob).default(['**']).describe('Globs of files to consider, relative to the repository root.'),
    exclude: z.array(Glob).default([]).describe('Globs of files to skip, applied after `include`.'),
  })
  .describe('Which files the app looks at.');

const KmsIdentity = ServiceAccount.optional().describe(
  'Service account to impersonate for Cloud KMS calls. Unless set in the organization config itself, it must be allowed for this repository by `kms.allowedIdentities` there.',
);

/** Fields a repository may set (and the organization may set as defaults for its repositories). */
const repositoryFields = {
  enabled: z.boolean().default(true).describe('Set to false to make the app leave this repository alone.'),
  dryRun: z
    .boolean()
    .default(false)
    .describe('Compute and report the plan (dashboard, check run) but write no branch or pull request.'),
  paths: Paths.prefault({}),
  window: Duration(60_000, '1m')
    .default('3h')
    .describe(
      'How long a new primary key version must have been primary before files are re-encrypted: Cloud KMS primary changes are eventually consistent.',
    ),
  probes: z
    .int()
    .min(1)
    .max(50)
    .default(5)
    .describe('Encrypt calls made to check that the new primary is really used before re-encrypting.'),
  rewrap: z
    .boolean()
    .default(false)
    .describe('Also re-wrap files whose data key is wrapped by a version that stays enabled (rotation hygiene).'),
  labels: z.array(LabelName).max(10).default(['sops-rekey']).describe('Labels put on pull requests and the dashboard issue.'),
  draft: z.boolean().default(false).describe('Open pull requests as drafts.'),
  maxOpenPullRequests: z.int().min(1).max(20).default(2).describe('At most this many rekey pull requests open at once.'),
  schedule: Duration(15 * 60_000, '15m').default('6h').describe('How often the repository is rescanned without a webhook.'),
  kms: z.strictObject({ identity: KmsIdentity }).prefault({}),
};

export const SopsRekeyConfig = z.strictObject(repositoryFields).describe('sops-rekey repository configuration');
/** Validated repository settings, defaults applied. */
export type SopsRekeyConfig = z.infer<typeof SopsRekeyConfig>;

export const AllowedIdentity = z.strictObject({
  serviceAccount: ServiceAccount,
  repositories: z
    .array(Glob)
    .min(1, { error: 'list at least one repository name or glob' })
    .describe('Repository names (or globs like "payments-*") that may use this service account.'),
});
export type AllowedIdentity = z.infer<typeof AllowedIdentity>;

export const SopsRekeyOrgConfig = z
  .strictObject({
    ...repositoryFields,
    kms: z
      .strictObject({
        identity: KmsIdentity,
        allowedIdentities: z
          .array(AllowedIdentity)
          .default([])
          .describe(
            "Organization .github repository only: which repositories may impersonate which service accounts. A repository's kms.identity must be listed here.",
          ),
      })
      .prefault({}),
    restoreAutomatically: z
      .boolean()
      .default(false)
      .describe(
        'Organization .github repository only: restore a scheduled-for-destruction version that files still need. Off by default: the app never changes key versions unless told to.',
      ),
  })
  .describe('sops-rekey configuration (.github/sops-rekey.yml); fields marked "Organization .github repository only" are ignored elsewhere and rejected');
export type SopsRekeyOrgConfig = z.infer<typeof SopsRekeyOrgConfig>;

/** Keys only the organization's `.github` repository may set, as field paths. */
export const ORG_ONLY_FIELDS = ['kms.allowedIdentities', 'restoreAutomatically'] as const;

/** The JSON Schema published for editors, describing what a user may write (defaults shown). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://github.com/sops-rekey/sops-rekey/schema/sops-rekey.schema.json',
    ...z.toJSONSchema(SopsRekeyOrgConfig, { io: 'input', target: 'draft-2020-12' }),
  };
}
