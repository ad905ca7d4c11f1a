/**
 * The clock leeway of a session (R34): a session ends at the instant its access token's `exp` falls, and the token
 * check accepts `exp` up to `jwt_clock_tolerance_seconds` late; the session must too, or the leeway the token check
 * grants is taken back by the session check. So every "is this session live" question — authenticating, listing,
 * revoking the other sessions, purging the ended ones — asks at the same instant, `now` less that leeway.
 */
import type { RegstackConfig } from '../../config/index.ts';

/** The instant a session must outlive to count as live at `now`. */
export function sessionsLiveAt(config: Pick<RegstackConfig, 'jwtClockToleranceSeconds'>, now: Date): Date {
  return new Date(now.getTime() - config.jwtClockToleranceSeconds * 1000);
}
