/**
 * `@regstack/shared`: the browser-safe wire contract between regstack's server and its clients — stable error
 * codes, and the zod schemas that canonicalize and bound every credential-bearing field (email R53–R55,
 * password R1–R4, phone R52, tokens/codes/names/ids R55–R56). Nothing here touches Node-only APIs, so the
 * client can bundle it. The export list is explicit (no `export *`): it is the package's public API, and
 * internal helpers (Punycode decoding, UTF-8 measurement) stay out of it.
 */
export type {
  AdminAuditEvent,
  AdminAuditListInput,
  AdminCountResult,
  AdminDailyCount,
  AdminImpersonateInput,
  AdminImpersonation,
  AdminListUsersInput,
  AdminPage,
  AdminPendingRegistration,
  AdminSessionInfo,
  AdminStats,
  AdminUpdateResult,
  AdminUpdateUserInput,
  AdminUserDetail,
  AdminUserSort,
} from './admin.ts';
export {
  ADMIN_PAGE_DEFAULT,
  ADMIN_PAGE_MAX,
  ADMIN_SEARCH_MAX_LENGTH,
  ADMIN_USER_SORTS,
  adminAuditListInput,
  adminImpersonateInput,
  adminListUsersInput,
  adminPendingEmailInput,
  adminPendingListInput,
  adminUpdateUserInput,
  adminUserIdInput,
  IMPERSONATION_REASON_MAX_LENGTH,
} from './admin.ts';
export type { CanonicalEmailResult, EmailRejectionReason } from './email.ts';
export { canonicalizeEmail, EMAIL_LOCAL_PART_MAX_BYTES, EMAIL_MAX_BYTES, emailSchema } from './email.ts';
export type { ClientErrorCode, RegstackErrorCode, RegstackErrorData, ServerErrorCode } from './errors.ts';
export { CLIENT_ERROR_CODES, getRegstackErrorCode, isRegstackErrorCode, REGSTACK_ERROR_CODES } from './errors.ts';
export type {
  ConfirmMfaLoginInput,
  MfaCodeSentResult,
  MfaDisabledResult,
  MfaEnabledResult,
  MfaMethod,
  MfaStatus,
  RecoveryCodesResult,
  TotpEnrolment,
} from './mfa.ts';
export {
  confirmMfaLoginInput,
  MFA_METHODS,
  mfaPendingTokenSchema,
  RECOVERY_CODE_ALPHABET,
  RECOVERY_CODE_COUNT,
  RECOVERY_CODE_LENGTH,
  recoveryCodeSchema,
  regenerateRecoveryCodesInput,
  resendMfaLoginCodeInput,
  smsConfirmInput,
  smsDisableInput,
  smsStartInput,
  totpConfirmInput,
  totpDisableInput,
  totpStartInput,
} from './mfa.ts';
export type { OAuthExchangeInput, OAuthLinkStartInput, OAuthUnlinkInput } from './oauth.ts';
export { oauthExchangeInput, oauthLinkStartInput, oauthProviderNameSchema, oauthUnlinkInput } from './oauth.ts';
export { isOAuthProviderName, OAUTH_PROVIDER_NAME_MAX_LENGTH, OAUTH_PROVIDER_NAME_PATTERN } from './oauth-names.ts';
export type { NormalizingStringSchema, PasswordLengthProblem, PasswordPolicy } from './password.ts';
export {
  checkPasswordLength,
  createPasswordInputSchema,
  createPasswordSchema,
  DEFAULT_PASSWORD_POLICY,
  normalizePassword,
  PASSWORD_MAX_LENGTH_FLOOR,
  PASSWORD_MIN_LENGTH_FLOOR,
  passwordInputSchema,
  passwordSchema,
  resolvePasswordPolicy,
} from './password.ts';
export type { CanonicalPhoneResult, PhoneRejectionReason } from './phone.ts';
export { canonicalizePhone, maskPhone, PHONE_MAX_DIGITS, phoneNumberSchema, phoneRegion } from './phone.ts';
export {
  FULL_NAME_MAX_LENGTH,
  fullNameSchema,
  ID_MAX_LENGTH,
  idSchema,
  ONE_TIME_TOKEN_LENGTH,
  OTP_CODE_LENGTH,
  oneTimeTokenSchema,
  otpCodeSchema,
} from './primitives.ts';
export type {
  AcceptedResult,
  AccountMe,
  EmailChangeRequestedResult,
  LoginInput,
  LoginResult,
  LogoutResult,
  PasswordChangedResult,
  PublicUser,
  ReauthenticationInfo,
  RegisterInput,
  RegisterResult,
  SessionInfo,
  VerifyEmailResult,
} from './procedures.ts';
export {
  changeEmailInput,
  changePasswordInput,
  confirmEmailChangeInput,
  deleteAccountInput,
  forgotPasswordInput,
  loginInput,
  registerInput,
  resendVerificationInput,
  resetPasswordInput,
  revokeSessionInput,
  updateAccountInput,
  verifyEmailInput,
} from './procedures.ts';
export { countCodePoints } from './text.ts';
