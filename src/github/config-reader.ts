/** Reads config files through the GitHub contents API with an installation's Octokit. */
import type { ConfigReader } from './config.ts';

/** The part of Octokit this needs; Probot's `context.octokit` fits. */
export interface ContentsClient {
  request(
    route: 'GET /repos/{owner}/{repo}/contents/{path}',
    params: { owner: string; repo: string; path: string; ref?: string },
  ): Promise<{ data: unknown }>;
}

export function githubConfigReader(octokit: ContentsClient): ConfigReader {
  return {
    async read(owner, repo, path, ref) {
      try {
        const { data } = await octokit.request('GET /repos/{owner}/{repo}/contents/{path}', {
          owner,
          repo,
          path,
          ...(ref === undefined ? {} : { ref }),
        });
        if (!isFile(data)) return undefined;
        return Buffer.from(data.content, 'base64').toString('utf8');
      } catch (error) {
        // A missing file, or an org `.github` repository the installation cannot see.
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
  };
}

function isFile(data: unknown): data is { type: 'file'; content: string } {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { type?: unknown }).type === 'file' &&
    typeof (data as { content?: unknown }).content === 'string'
  );
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
