// One line of `pathgen doctor`'s table; its own module so that every part of doctor can build
// lines without importing doctor.ts (the lint rule counts type imports in circles).

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}
