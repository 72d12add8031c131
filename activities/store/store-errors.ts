import { PathgenError } from '../common/errors.js';

// The few ways a store call can fail that callers treat differently: NotFound and Conflict are
// answers, Unavailable is worth retrying, Denied, Misconfigured and InvalidKey need a person.
export type StoreErrorCode = 'NotFound' | 'Conflict' | 'Unavailable' | 'Denied' | 'Misconfigured' | 'InvalidKey';

export class StoreError extends PathgenError<StoreErrorCode> {
  readonly retryable: boolean;

  constructor(code: StoreErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, details, cause === undefined ? undefined : { cause });
    this.retryable = code === 'Unavailable';
  }
}

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

const validSegment = /^[^/\\\0]+$/;

/** Rejects keys that could escape the store root or mean different things to different backends. */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  const bad =
    key.length === 0 ||
    key.length > 1024 ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..' || !validSegment.test(segment));
  if (bad) throw new StoreError('InvalidKey', `invalid object key ${JSON.stringify(key)}`, { key });
}

/** Prefixes may be empty or end with a partial segment, but may not escape the root either. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? `${prefix}x` : prefix);
}
