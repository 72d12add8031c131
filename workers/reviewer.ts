import os from 'node:os';
import type { PathgenConfig } from './config/schema.js';

// Who a review record names: config `review.reviewer` (or PATHGEN_REVIEWER, which sets it), else
// this machine's user at its host name, so every record says who made it even unconfigured.

export function reviewerName(config: Pick<PathgenConfig, 'review'>): string {
  return config.review.reviewer ?? `${userName()}@${os.hostname()}`;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    // A container user without a passwd entry has no name to look up.
    return process.env.USER ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
