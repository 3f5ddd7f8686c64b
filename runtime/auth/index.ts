/** Authentication and authorization (docs/security.md). */
export { Authenticator, OPEN_RECHECK_MS, CONSOLE_HEADER, MAX_CREDENTIAL_LENGTH } from './authenticator';
export { authGuard } from './guard';
export { attachAuthenticator, mountSessionRoutes } from './session-routes';
export { createApiKey, listApiKeys, revokeApiKey, type ApiKeyInfo } from './api-key-store';
export {
  ALL_ACCOUNTS, SCOPES, accessCondition, accessOf, canSeeAccount, type AccountAccess, type Principal, type Scope,
} from './principal';
