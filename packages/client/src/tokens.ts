import type { CreatedToken, CreateTokenRequest, Token, TokenList } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

/** The caller's API tokens. */
export class TokensApi extends ApiModule {
  createToken(req: CreateTokenRequest): Promise<CreatedToken> {
    return this.http.request('POST', '/api/tokens', { body: req });
  }

  listTokens(): Promise<TokenList> {
    return this.http.request('GET', '/api/tokens');
  }

  revokeToken(id: string): Promise<Token> {
    return this.http.request('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
  }
}
