/** Entity → DTO. The only place a `User` row becomes what a client sees (never the entity itself). */
import { maskPhone, type PublicUser, type SessionInfo } from '@regstack/shared';
import type { Session, User } from '../db/entities/index.ts';

export function toPublicUser(user: User, options: { revealPhone?: boolean } = {}): PublicUser {
  return {
    id: user.id,
    email: user.email,
    fullName: user.fullName ?? null,
    phoneNumber: user.phoneNumber ? (options.revealPhone ? user.phoneNumber : maskPhone(user.phoneNumber)) : null,
    isActive: user.isActive,
    isVerified: user.isVerified,
    isSuperuser: user.isSuperuser,
    isMfaEnabled: user.isMfaEnabled,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt ?? null,
  };
}

export function toSessionInfo(session: Session, currentSessionId: string): SessionInfo {
  return {
    id: session.id,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    expiresAt: session.expiresAt,
    userAgent: session.userAgent ?? null,
    ip: session.ip ?? null,
    current: session.id === currentSessionId,
    impersonatedBy: session.impersonatorId ?? null,
  };
}
