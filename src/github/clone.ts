/**
 * Shallow clone of one branch with simple-git, authenticated by an installation token put in the
 * URL the way GitHub documents it (`https://x-access-token:TOKEN@host/owner/repo.git`). The token
 * is scrubbed from every error; the clone's remote URL is reset afterwards so it does not stay on
 * disk in `.git/config` either.
 */
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { scrubError } from './scrub.ts';

export interface CloneRequest {
  /** The repository's clone URL without credentials, e.g. `https://github.com/acme/app.git`. */
  readonly url: string;
  readonly token: string;
  readonly branch: string;
  /** Empty or missing directory to clone into. */
  readonly dir: string;
  /**
   * A git command silent this long (no progress, no output) is stuck and is killed: an unattended
   * app must not hold a job forever on a stalled connection. Default 2 minutes.
   */
  readonly stallTimeoutMs?: number;
}

const STALL_TIMEOUT_MS = 2 * 60_000;

/** The URL with `x-access-token:TOKEN@` as user info. */
export function authenticatedUrl(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.username = 'x-access-token';
  parsed.password = token;
  return parsed.toString();
}

/** Clones `branch` at depth 1 into `dir`; resolves with the commit checked out. */
export async function shallowClone(request: CloneRequest): Promise<string> {
  const secrets = [request.token, encodeURIComponent(request.token)];
  const timeout = { block: request.stallTimeoutMs ?? STALL_TIMEOUT_MS };
  try {
    // No prompt, no system or user config (credential helpers, URL rewrites): the token in the URL
    // is the only credential git may use.
    const git = simpleGit({ allowEnvironment: ['GIT_TERMINAL_PROMPT', 'GIT_CONFIG_NOSYSTEM'], timeout }).env({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // The clone's parent, a fresh temporary directory: no user .gitconfig is read.
      HOME: path.dirname(request.dir),
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
    });
    // --progress: git reports progress to stderr even without a terminal, so a large clone that is
    // still moving is never taken for a stalled one.
    await git.clone(authenticatedUrl(request.url, request.token), request.dir, ['--depth', '1', '--single-branch', '--branch', request.branch, '--no-tags', '--progress']);
    const repo = simpleGit({ baseDir: request.dir, timeout });
    await repo.remote(['set-url', 'origin', request.url]);
    return (await repo.revparse(['HEAD'])).trim();
  } catch (error) {
    // simple-git's own words for a killed command ("block timeout reached") tell an operator nothing.
    if ((error as { plugin?: unknown } | null)?.plugin === 'timeout') {
      throw new Error(`git stopped: no progress for ${Math.round(timeout.block / 1000)} s from ${new URL(request.url).host} (stalled connection)`);
    }
    throw scrubError(error, secrets);
  }
}
