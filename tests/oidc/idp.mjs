// A standalone OpenID Connect identity provider for web-viewer/tests/oidc.rs:
// oauth2-mock-server on a loopback port with one RSA signing key.
//
//   node idp.mjs [--port N]        (0, the default: a free port)
//
// Prints `issuer <url>` on a line of its own once it listens, then serves
// until its standard input closes or it is sent SIGTERM.
//
// The token endpoint (POST /token, grant_type=client_credentials) takes, in
// its form body besides `aud` and `scope`:
//   claims=<JSON object>  merged into the token's payload (after iss, iat,
//                         exp, nbf are set, so they can be overridden)
//   signer=stranger       the token is signed by a key the JWKS does not
//                         publish, under the kid of the published key
//   signer=rotated        a new key is added to the JWKS and signs the token
//                         (the relying party has to reload the JWKS)
import { OAuth2Server } from 'oauth2-mock-server';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';

let port = 0;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else {
    console.error(`idp.mjs: unknown argument ${args[i]}`);
    process.exit(2);
  }
}

const server = new OAuth2Server();
const published = await server.issuer.keys.generate('RS256');
const stranger = (await generateKeyPair('RS256')).privateKey;
let rotations = 0;

server.service.on('beforeTokenSigning', (token, req) => {
  if (req.body.claims) Object.assign(token.payload, JSON.parse(req.body.claims));
});

// The signing key is chosen before any hook runs, so the two `signer`
// modes wrap the service's token building.
const buildToken = server.service.buildToken.bind(server.service);
server.service.buildToken = async (req, expiresIn, transform) => {
  const signer = req.body?.signer;
  if (signer === 'rotated') {
    rotations += 1;
    const key = await server.issuer.keys.generate('RS256', { kid: `rotated-${rotations}` });
    server.issuer.once('beforeSigning', (token) => {
      server.service.emit('beforeTokenSigning', token, req);
    });
    return server.issuer.buildToken({ kid: key.kid, expiresIn, scopesOrTransform: transform });
  }
  const token = await buildToken(req, expiresIn, transform);
  if (signer !== 'stranger') return token;
  // The same header and payload, signed by another key.
  return new SignJWT(decodeJwt(token))
    .setProtectedHeader({ ...decodeProtectedHeader(token), kid: published.kid })
    .sign(stranger);
};

await server.start(port, '127.0.0.1');
// The issuer names the address it listens on (the package says localhost,
// which may resolve to ::1 first).
server.issuer.url = `http://127.0.0.1:${server.address().port}`;
console.log(`issuer ${server.issuer.url}`);

const stop = async () => {
  await server.stop().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
