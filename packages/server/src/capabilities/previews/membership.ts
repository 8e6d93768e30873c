// Who on GitHub is a member of a preview's owning team: the catalog User whose annotation
// github.com/user-login is the sender's login (case-insensitive, as GitHub logins are), and the
// directory's teams of that user (parents included). No such user, or two: not a member.
import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import type { CatalogQueries } from '../catalog/query.ts';
import type { Directory } from '../../identity/directory.ts';
import type { TeamMembership } from './runner.ts';

export const GITHUB_LOGIN_ANNOTATION = 'github.com/user-login';
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;

export function catalogMembership(queries: CatalogQueries, directory: Directory): TeamMembership {
  return {
    async isMember(githubLogin: string, team: string): Promise<boolean> {
      if (!LOGIN.test(githubLogin)) return false;
      const { items } = await queries.list(
        {
          allOf: [
            { key: 'kind', values: ['user'] },
            { key: `metadata.annotations.${GITHUB_LOGIN_ANNOTATION}`, values: [githubLogin.toLowerCase()] },
          ],
        },
        undefined,
        2,
        0,
      );
      if (items.length !== 1) return false;
      const ref = stringifyEntityRef(JSON.parse(items[0] as string) as Entity);
      return directory.teamsOf(ref).includes(team);
    },
  };
}
