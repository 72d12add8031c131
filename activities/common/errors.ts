// Errors as data: every failure pathgen raises on purpose carries a stable `code` that callers,
// workflows and tests branch on, and a `details` object that is safe to serialise. The message is
// for people; the code is for programs.
export class PathgenError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = code;
    this.code = code;
    this.details = details;
  }
}

export function isPathgenError(error: unknown): error is PathgenError {
  return error instanceof PathgenError;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
