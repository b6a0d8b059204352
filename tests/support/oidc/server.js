// A real OAuth 2.0 authorisation server (npm oidc-provider) for rmbc's tests: the client
// credentials grant, clients authenticating with private_key_jwt (as SMART Backend Services and
// the NHS signed-JWT pattern do), and JWT access tokens for one resource server (rmbc ingest).
// Usage: node server.js <port> <config.json>
// config.json: {"audience": "...", "scopes": ["system/Condition.write", ...],
//               "jwks": {"keys": [<the server's private signing JWK>]},
//               "clients": [{"client_id": "...", "jwks": {"keys": [<public JWK>]}}]}
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, configFile] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configFile, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  jwks: config.jwks, // the server's own signing key, made by the test
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS384',
    jwks: client.jwks,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  })),
  clientAuthMethods: ['private_key_jwt'],
  // SMART Backend Services clients sign with RS384 or ES384
  enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384'] },
  scopes: config.scopes,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== config.audience) throw new Error(`unknown resource ${resource}`);
        return {
          scope: config.scopes.join(' '),
          audience: config.audience,
          accessTokenTTL: config.ttl_seconds ?? 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
