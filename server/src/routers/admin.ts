/** `auth.admin.*`: procedures for active superusers (R46). The user-management procedures arrive with the admin work. */
import { t } from '../trpc/init.ts';

export const adminRouter = t.router({});
