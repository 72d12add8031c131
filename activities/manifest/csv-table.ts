// A CSV file whose header names the fields of the objects its rows describe: the manifest's
// `slideId,slide,report,reportUri,project,mppOverride` or the materialize lookup's `wsi_id,slide`.
// An empty cell is an absent field, so optional fields may be left blank.

export interface CsvColumnSpec {
  required: readonly string[];
  optional: readonly string[];
  /** Columns whose non-empty cells are numbers (a cell that is not one stays text for the schema to reject). */
  numeric?: readonly string[];
}

export interface CsvFieldError {
  field: string;
  message: string;
}

/** Every problem with a header: unknown, repeated and missing columns. */
export function csvHeaderErrors(columns: readonly string[], spec: CsvColumnSpec): CsvFieldError[] {
  const known = new Set([...spec.required, ...spec.optional]);
  const expected = `expected columns ${[...spec.required, ...spec.optional].join(', ')}`;
  const errors: CsvFieldError[] = [];
  const seen = new Set<string>();
  for (const column of columns) {
    if (!known.has(column)) {
      errors.push({ field: column === '' ? '(empty column name)' : column, message: `unknown column (${expected})` });
    } else if (seen.has(column)) {
      errors.push({ field: column, message: 'column appears twice in the header' });
    }
    seen.add(column);
  }
  for (const column of spec.required) {
    if (!seen.has(column)) errors.push({ field: column, message: `required column is missing from the header` });
  }
  return errors;
}

export function csvRecordToObject(
  fields: readonly string[],
  columns: readonly string[],
  spec: Pick<CsvColumnSpec, 'numeric'>,
): { value: Record<string, unknown> } | { error: string } {
  if (fields.length !== columns.length) {
    return { error: `has ${fields.length} fields where the header has ${columns.length}` };
  }
  const numeric = new Set(spec.numeric ?? []);
  const value: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    const cell = fields[i] ?? '';
    if (cell === '') return;
    if (numeric.has(column)) {
      const number = Number(cell.trim());
      value[column] = cell.trim() !== '' && Number.isFinite(number) ? number : cell;
    } else value[column] = cell;
  });
  return { value };
}
