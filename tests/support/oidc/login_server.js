// A real OpenID Connect provider (npm oidc-provider) for the worklist's sign-in: the
// authorization code flow with PKCE (S256, required), a confidential web client, ID tokens
// signed with the provider's own RSA key, and a plain sign-in form for a few configured users.
// Usage: node login_server.js <port> <config.json>
// config.json: {"jwks": {"keys": [<private signing JWK>]}, "cookie_key": "...",
//               "clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
//               "claims": ["rmbc_role", "rmbc_trust"],
//               "users": [{"username", "password", "claims": {"name": ..., "rmbc_role": ...}}]}
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, configFile] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configFile, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;
const users = new Map(config.users.map((user) => [user.username, user]));

const provider = new Provider(issuer, {
  jwks: config.jwks,
  cookies: { keys: [config.cookie_key] },
  clients: config.clients.map((client) => ({
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'rmbc'],
  claims: { openid: ['sub'], profile: ['name'], rmbc: config.claims },
  conformIdTokenClaims: false, // the granted claims go in the ID token, which the app verifies
  findAccount: async (ctx, sub) => {
    const user = users.get(sub);
    return user && { accountId: sub, claims: async () => ({ sub, ...user.claims }) };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
});

const page = (uid, problem) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Sign in</title></head><body><main><h1>Sign in</h1>
${problem ? `<p role="alert">${problem}</p>` : ''}
<form method="post" action="/interaction/${uid}">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form></main></body></html>`;

async function formOf(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// the sign-in and consent steps: the app is first-party, so consent is given on the user's behalf
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name === 'consent') {
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope('openid profile rmbc');
    grant.addOIDCClaims(['name', ...config.claims]);
    const grantId = await grant.save();
    ctx.respond = false;
    return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = page(match[1]);
    return undefined;
  }
  const form = await formOf(ctx.req);
  const user = users.get(form.get('username'));
  if (!user || user.password !== form.get('password')) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = page(match[1], 'Unknown username or wrong password');
    return undefined;
  }
  ctx.respond = false;
  return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider (sign-in) listening on ${issuer}`);
});
