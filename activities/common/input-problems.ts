import type { z } from 'zod';

// A workflow input that fails its schema is reported with every problem at once, each with the
// field's path, so one correction fixes the input.
export function inputProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
}
