import { PathgenError } from '../common/errors.js';

// The ways a slide can fail that end a slide with a recorded reason instead of a crash. Callers
// branch on `code`; `details` always carries the slide path so a failure report needs nothing else.
export type SlideErrorCode = 'SlideUnreadable' | 'UnsupportedFormat' | 'NoTissue' | 'MissingResolution';

export class SlideError extends PathgenError<SlideErrorCode> {
  constructor(code: SlideErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, details, cause === undefined ? undefined : { cause });
  }
}

export function isSlideError(error: unknown, code?: SlideErrorCode): error is SlideError {
  return error instanceof SlideError && (code === undefined || error.code === code);
}

/** The file is truncated, corrupt or not what its name says; rerunning will not help. */
export function slideUnreadable(
  path: string,
  reason: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): SlideError {
  return new SlideError('SlideUnreadable', `cannot read slide ${path}: ${reason}`, { path, reason, ...details }, cause);
}

/** The file is a real slide in a format we cannot decode here; the message says what would. */
export function unsupportedFormat(path: string, reason: string, details: Record<string, unknown> = {}): SlideError {
  return new SlideError('UnsupportedFormat', `unsupported slide format for ${path}: ${reason}`, {
    path,
    reason,
    ...details,
  });
}

export function noTissue(path: string, details: Record<string, unknown> = {}): SlideError {
  return new SlideError('NoTissue', `no tissue patch candidates found in ${path}`, { path, ...details });
}

export function missingResolution(path: string, targetMpp: number): SlideError {
  return new SlideError(
    'MissingResolution',
    `slide ${path} has no microns-per-pixel metadata, so it cannot be tiled at a target of ${targetMpp} µm/px; ` +
      'tile it at a pyramid level instead or pass an mpp override',
    { path, targetMpp },
  );
}

/** Turns anything a decoder threw into a SlideUnreadable, keeping typed slide errors as they are. */
export function asSlideError(error: unknown, path: string, context: string): SlideError {
  if (error instanceof SlideError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return slideUnreadable(path, `${context}: ${message}`, {}, error);
}
