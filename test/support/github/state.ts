/**
 * Everything the stand-in remembers besides git itself: installations and their tokens, and the
 * per-repository issues, pull requests, labels and check runs. Git objects and refs live only in
 * the bare repositories, so the API and `git` always agree.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BareRepo } from './git.ts';
import { HttpError } from './http.ts';

export interface Account {
  readonly login: string;
  readonly type: 'Organization' | 'User';
  readonly id: number;
}

export interface Installation {
  readonly id: number;
  readonly account: Account;
  /** Full names (`owner/name`) the installation can access. */
  readonly repositories: string[];
}

export interface RepoRecord {
  readonly id: number;
  readonly owner: Account;
  readonly name: string;
  readonly defaultBranch: string;
  readonly git: BareRepo;
  /** Issues and pull requests share one number sequence, as on GitHub. */
  nextNumber: number;
  readonly issues: Map<number, IssueRecord>;
  readonly labels: Map<string, LabelRecord>;
  readonly checkRuns: Map<number, CheckRunRecord>;
  /** Commits the app created through the API without a custom author: GitHub signs those. */
  readonly verifiedCommits: Set<string>;
}

export interface LabelRecord {
  readonly id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface CommentRecord {
  readonly id: number;
  body: string;
  readonly user: Actor;
  readonly createdAt: string;
  updatedAt: string;
}

export interface Actor {
  readonly login: string;
  readonly type: 'Bot' | 'User';
}

export interface IssueRecord {
  readonly number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  assignees: string[];
  readonly user: Actor;
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  readonly comments: CommentRecord[];
  /** Set when this number is a pull request. */
  pull?: PullFields;
}

export interface PullFields {
  /** Branch name in the same repository (forks are out of scope). */
  readonly head: string;
  base: string;
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
}

export interface CheckRunRecord {
  readonly id: number;
  name: string;
  readonly headSha: string;
  status: string;
  conclusion: string | null;
  output: unknown;
  detailsUrl: string | null;
  externalId: string | null;
  startedAt: string;
  completedAt: string | null;
}

export interface IssuedToken {
  readonly token: string;
  readonly installationId: number;
  readonly expiresAt: Date;
}

/** The app identity installation requests act as. */
export const APP_ACTOR: Actor = { login: 'sops-rekey[bot]', type: 'Bot' };

export class StandInState {
  readonly root: string;
  readonly installations = new Map<number, Installation>();
  readonly repos = new Map<string, RepoRecord>();
  readonly tokens = new Map<string, IssuedToken>();
  private nextId = 1000;

  constructor(root: string) {
    this.root = root;
  }

  id(): number {
    return this.nextId++;
  }

  now(): string {
    return new Date().toISOString();
  }

  account(login: string): Account {
    for (const installation of this.installations.values()) {
      if (installation.account.login.toLowerCase() === login.toLowerCase()) return installation.account;
    }
    for (const repo of this.repos.values()) {
      if (repo.owner.login.toLowerCase() === login.toLowerCase()) return repo.owner;
    }
    return { login, type: 'Organization', id: this.id() };
  }

  addRepo(owner: string, name: string, defaultBranch: string): RepoRecord {
    const record: RepoRecord = {
      id: this.id(),
      owner: this.account(owner),
      name,
      defaultBranch,
      git: new BareRepo(join(this.root, owner, `${name}.git`)),
      nextNumber: 1,
      issues: new Map(),
      labels: new Map(),
      checkRuns: new Map(),
      verifiedCommits: new Set(),
    };
    this.repos.set(key(owner, name), record);
    return record;
  }

  findRepo(owner: string, name: string): RepoRecord | undefined {
    return this.repos.get(key(owner, name));
  }

  issueToken(installationId: number, ttlMs = 60 * 60 * 1000): IssuedToken {
    const issued: IssuedToken = {
      token: `ghs_${randomBytes(18).toString('base64url')}`,
      installationId,
      expiresAt: new Date(Date.now() + ttlMs),
    };
    this.tokens.set(issued.token, issued);
    return issued;
  }

  /** The installation a live token belongs to, or undefined for unknown or expired tokens. */
  tokenInstallation(token: string): Installation | undefined {
    const issued = this.tokens.get(token);
    if (!issued || issued.expiresAt.getTime() <= Date.now()) return undefined;
    return this.installations.get(issued.installationId);
  }

  canAccess(installation: Installation, owner: string, name: string): boolean {
    return installation.repositories.some((full) => full.toLowerCase() === key(owner, name));
  }

  /**
   * The repository `owner/name` as seen by `installationId`: 404 (not 403) when it is not part of
   * the installation, because that is what GitHub answers.
   */
  repoFor(installationId: number, owner: string, name: string): RepoRecord {
    const installation = this.installations.get(installationId);
    const repo = this.findRepo(owner, name);
    if (!installation || !repo || !this.canAccess(installation, owner, name)) {
      throw new HttpError(404, 'Not Found');
    }
    return repo;
  }
}

function key(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}
