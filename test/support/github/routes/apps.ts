/** App and installation endpoints: tokens (JWT-authenticated) and what an installation sees. */
import { repoJson, type RouteContext } from '../context.ts';
import { HttpError, paginate, route, type Route } from '../http.ts';

export function appRoutes(ctx: RouteContext): Route[] {
  const { state } = ctx;
  const installationJson = (id: number) => {
    const installation = state.installations.get(id);
    if (!installation) throw new HttpError(404, 'Not Found');
    return {
      id: installation.id,
      account: installation.account,
      target_type: installation.account.type,
      repository_selection: 'selected',
      permissions: PERMISSIONS,
      events: ['installation', 'installation_repositories', 'push', 'issues', 'pull_request'],
      access_tokens_url: `${ctx.apiUrl}/app/installations/${installation.id}/access_tokens`,
    };
  };
  return [
    route('GET', '/app', () => ({ status: 200, body: { id: 0, slug: 'sops-rekey', name: 'sops-rekey' } }), 'app'),
    route(
      'GET',
      '/app/installations',
      (req) => paginate(req, ctx.apiUrl, [...state.installations.keys()].map(installationJson)),
      'app',
    ),
    route('GET', '/app/installations/:id', (req) => ({ status: 200, body: installationJson(Number(req.params.id)) }), 'app'),
    route(
      'POST',
      '/app/installations/:id/access_tokens',
      (req) => {
        const id = Number(req.params.id);
        if (!state.installations.has(id)) throw new HttpError(404, 'Not Found');
        const issued = state.issueToken(id);
        return {
          status: 201,
          body: {
            token: issued.token,
            expires_at: issued.expiresAt.toISOString(),
            permissions: PERMISSIONS,
            repository_selection: 'selected',
          },
        };
      },
      'app',
    ),
    route('GET', '/installation/repositories', (req) => {
      if (req.caller.kind !== 'installation') throw new HttpError(403, 'Resource not accessible by integration');
      const installation = state.installations.get(req.caller.installationId);
      const repos = (installation?.repositories ?? [])
        .map((full) => {
          const [owner = '', name = ''] = full.split('/');
          return state.findRepo(owner, name);
        })
        .filter((repo) => repo !== undefined)
        .map((repo) => repoJson(ctx, repo));
      return paginate(req, ctx.apiUrl, repos, (page) => ({
        total_count: repos.length,
        repository_selection: 'selected',
        repositories: page,
      }));
    }),
  ];
}

/** What app.yml asks for; the stand-in grants exactly that. */
const PERMISSIONS = {
  contents: 'write',
  pull_requests: 'write',
  issues: 'write',
  checks: 'write',
  metadata: 'read',
};
