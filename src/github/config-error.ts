import { SopsRekeyError } from '../errors.ts';

/** One problem in a config file: the field path as a user writes it (`paths.include[1]`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A `.github/sops-rekey.yml` the app cannot use. It names the repository holding the file, the
 * file, and each field with its problem, so the dashboard or check run can tell the user exactly
 * what to fix; the app writes nothing for the repository until it is fixed.
 */
export class ConfigError extends SopsRekeyError {
  readonly category = 'user';
  /** `owner/name` of the repository holding the file (the org's `.github` for org config). */
  readonly repository: string;
  readonly issues: readonly ConfigIssue[];

  constructor(repository: string, file: string, issues: readonly ConfigIssue[]) {
    super('invalid-config', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { file });
    this.repository = repository;
    this.issues = issues;
  }

  override describe(): string {
    return `${this.repository}: ${super.describe()}`;
  }
}
