export { type BearerSource, bearerChallenge, bearerToken, rawHeaderValues } from "./bearer.js";
export {
  createIssuer,
  DEV_ALGORITHM,
  generateSigningKey,
  type Issuer,
  type IssuerServer,
  keysFromFile,
  type MintOptions,
  type SigningKey,
  serveIssuer,
} from "./issuer.js";
export {
  AuthError,
  AuthUnavailableError,
  type Caller,
  createVerifier,
  MAX_TOKEN_LENGTH,
  startVerifier,
  type Verifier,
  type VerifierConfig,
} from "./verifier.js";
