// Roles of the chat port: who may read, vote or administer (ARBITER_ADMINS, ARBITER_REVIEWERS).

/** Roles, from least to most privileged. */
export type Role = 'reader' | 'reviewer' | 'admin';

/** Who may do what: ARBITER_ADMINS and ARBITER_REVIEWERS. */
export interface RolePolicy {
  admins: readonly string[];
  reviewers: readonly string[];
}

/**
 * Whether a user holds a role. With no admins configured every user is an admin (a workspace that has not set
 * ARBITER_ADMINS is trusted; the bot logs a warning at start). Admins may also vote.
 */
export function hasRole(policy: RolePolicy, user: string, role: Role): boolean {
  if (role === 'reader') return true;
  const admin = policy.admins.length === 0 || policy.admins.includes(user);
  if (role === 'admin') return admin;
  return admin || policy.reviewers.includes(user);
}
