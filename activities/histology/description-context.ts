// What is known of a patch's slide besides its pixels: the built-in describe agent
// (builtin-description.ts) writes from it and the contradiction rules (statement-checks.ts) check
// sentences against it.

export interface DescriptionContext {
  /** TCGA project code such as `TCGA-LUAD` (the `TCGA-` prefix may be omitted). */
  project?: string;
  /** Short findings from the slide's report. */
  findings?: readonly string[];
}
