// A real OpenID provider on loopback for the page check (npm `oidc-provider`,
// a certified implementation): the console is its one public client (code
// flow, PKCE required); anyone may sign in with any login, which becomes
// their verified email, as an authority's provider would vouch for it.
//
// usage: node oidc-issuer.mjs PORT REDIRECT_URI
import Provider from "oidc-provider";

const [port, redirect] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: "csq-console",
    token_endpoint_auth_method: "none",
    redirect_uris: [redirect],
    post_logout_redirect_uris: [redirect],
    response_types: ["code"],
    grant_types: ["authorization_code"],
  }],
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  // The console reads who the person is from the ID token itself.
  conformIdTokenClaims: false,
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, email: id, email_verified: true }),
  }),
  // The console calls the token endpoint from its own origin.
  clientBasedCORS: () => true,
  cookies: { keys: ["csq-page-check"] },
});
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`issuer ready at ${issuer}`);
});
