/**
 * The `auth.admin.*` contract (issue 17, R46): one strict input schema per admin procedure and the DTOs they
 * return. Admin inputs follow the same rules as every other input (unknown keys refused, R56); the DTOs carry
 * no password hash, token hash or secret — a user is always a `PublicUser`, its phone number masked.
 *
 * Cursors are opaque strings minted by the server and integrity-protected there; a client only passes back
 * the `nextCursor` it was given, with the same search, filters and sort.
 */
import { z } from 'zod';
import { emailSchema } from './email.ts';
import { fullNameSchema, idSchema } from './primitives.ts';
import type { PublicUser, SessionInfo } from './procedures.ts';

/** Most rows one admin list page returns. */
export const ADMIN_PAGE_MAX = 200;
/** The page size when a list call names none. */
export const ADMIN_PAGE_DEFAULT = 50;
/** Longest cursor string accepted (a server-minted one is far shorter). */
const CURSOR_MAX_LENGTH = 512;
/** Longest search string: as long as an email address may be. */
export const ADMIN_SEARCH_MAX_LENGTH = 254;

const cursorSchema = z.string().min(1).max(CURSOR_MAX_LENGTH);
const limitSchema = z.number().int().min(1).max(ADMIN_PAGE_MAX).default(ADMIN_PAGE_DEFAULT);

export const ADMIN_USER_SORTS = ['createdAt', 'lastLoginAt', 'email'] as const;
export type AdminUserSort = (typeof ADMIN_USER_SORTS)[number];

/**
 * `users.list`: `search` matches an email prefix or the start of words of the name, case-insensitively, as plain text
 * (never a pattern; docs/admin.md). Filters are exact flags. Sorted by `sort` then id, in `direction`.
 */
export const adminListUsersInput = z.strictObject({
  cursor: cursorSchema.optional(),
  limit: limitSchema,
  search: z.string().trim().min(1).max(ADMIN_SEARCH_MAX_LENGTH).optional(),
  filters: z
    .strictObject({
      isActive: z.boolean().optional(),
      isVerified: z.boolean().optional(),
      isSuperuser: z.boolean().optional(),
      isMfaEnabled: z.boolean().optional(),
    })
    .optional(),
  sort: z.enum(ADMIN_USER_SORTS).default('createdAt'),
  direction: z.enum(['asc', 'desc']).default('desc'),
});
export type AdminListUsersInput = z.input<typeof adminListUsersInput>;

export const adminUserIdInput = z.strictObject({ id: idSchema });

/** `users.update`: an explicit allowlist (R47). Never an email, a password or a hash: an admin cannot set those (R46). */
export const adminUpdateUserInput = z.strictObject({
  id: idSchema,
  fullName: fullNameSchema.nullable().optional(),
  isActive: z.boolean().optional(),
  isSuperuser: z.boolean().optional(),
  isVerified: z.boolean().optional(),
});
export type AdminUpdateUserInput = z.input<typeof adminUpdateUserInput>;

/** Longest reason an administrator gives for impersonating a user (it goes to the audit log). */
export const IMPERSONATION_REASON_MAX_LENGTH = 500;

/** `users.impersonate`: the user, and why (required: the audit log keeps it). */
export const adminImpersonateInput = z.strictObject({
  id: idSchema,
  reason: z.string().trim().min(3).max(IMPERSONATION_REASON_MAX_LENGTH),
});
export type AdminImpersonateInput = z.input<typeof adminImpersonateInput>;

/**
 * `users.impersonate`: a short-lived access token for a restricted session as the user (docs/admin.md). It cannot be
 * renewed; `auth.admin.stopImpersonating` (with this token) ends it early.
 */
export interface AdminImpersonation {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: Date;
  sessionId: string;
  user: PublicUser;
}

export const adminPendingListInput = z.strictObject({ cursor: cursorSchema.optional(), limit: limitSchema });
export const adminPendingEmailInput = z.strictObject({ email: emailSchema });

const auditTypeSchema = z.string().regex(/^[a-z0-9_]{1,64}$/, { message: 'Audit event types are snake_case names' });

/** `audit.list`: newest first; `userId` is the subject, `actorId` who acted; `from` inclusive, `to` exclusive. */
export const adminAuditListInput = z.strictObject({
  cursor: cursorSchema.optional(),
  limit: limitSchema,
  userId: idSchema.optional(),
  actorId: idSchema.optional(),
  types: z.array(auditTypeSchema).min(1).max(50).optional(),
  from: z.date().optional(),
  to: z.date().optional(),
});
export type AdminAuditListInput = z.input<typeof adminAuditListInput>;

export interface AdminPage<T> {
  items: T[];
  /** Pass back as `cursor` (with the same search, filters and sort) for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface AdminDailyCount {
  /** The UTC day, `YYYY-MM-DD`. */
  day: string;
  count: number;
}

export interface AdminStats {
  users: number;
  active: number;
  verified: number;
  superusers: number;
  mfaEnabled: number;
  /** Sign-ups waiting for their email to be verified (unexpired). */
  pendingRegistrations: number;
  /** Accounts created per UTC day, the last 30 days, oldest first. */
  signupsPerDay: AdminDailyCount[];
  /** Successful logins per UTC day, the last 30 days, oldest first (from the audit log). */
  loginsPerDay: AdminDailyCount[];
}

/** `users.get`: the user with what an admin needs to judge the account. */
export interface AdminUserDetail {
  user: PublicUser;
  /** Sessions that would still authenticate now. */
  activeSessions: number;
  lastLoginAt: Date | null;
  mfa: { enabled: boolean; phoneHint: string | null };
}

/**
 * A session of some user, as an admin sees it (`current` is always false: it is not the admin's; `impersonatedBy`
 * names the administrator of an impersonation session).
 */
export type AdminSessionInfo = SessionInfo;

export interface AdminPendingRegistration {
  id: string;
  email: string;
  fullName: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface AdminAuditEvent {
  id: string;
  type: string;
  actorId: string | null;
  subjectId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
  createdAt: Date;
}

export interface AdminUpdateResult {
  user: PublicUser;
  /** Sessions ended because the user was disabled or demoted. */
  sessionsRevoked: number;
}

export interface AdminCountResult {
  status: 'ok';
  count: number;
}
