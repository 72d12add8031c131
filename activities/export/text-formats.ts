// The two text outputs of an export besides the shards.
//
// open_clip's CSV loader (open_clip_train/data.py, CsvDataset) reads the file with
// `pandas.read_csv(path, sep=args.csv_separator)` and takes the columns named by
// `--csv-img-key` (default `filepath`) and `--csv-caption-key` (default `title`); the separator
// `--csv-separator` defaults to a tab. So we write what its defaults read, a tab-separated file
// with a `filepath` and a `caption` column, to be used with
//   --dataset-type csv --train-data captions.tsv --csv-img-key filepath --csv-caption-key caption
// (`--dataset-type auto` also picks the CSV loader for a .tsv or .csv name). pandas follows the
// usual quoting (a field in double quotes may hold tabs, line breaks and doubled quotes), so a
// field is quoted only when it holds one of those or begins or ends with a space.

export const openClipCsvHeader = 'filepath\tcaption\n';

export function openClipCsvLine(filepath: string, caption: string): string {
  return `${tsvField(filepath)}\t${tsvField(caption)}\n`;
}

function tsvField(value: string): string {
  if (!/[\t\n\r"]/.test(value) && value.trim() === value) return value;
  return `"${value.replace(/"/g, '""')}"`;
}

// The released PathGen-1.6M format: a JSON array of { wsi_id, position: [x, y] as strings,
// caption, file_id }, positions being level-0 top-left corners of 672×672 crops. One record per
// line keeps the file streamable and diffable; it is one JSON array all the same.

export interface PathgenJsonRecord {
  wsi_id: string;
  position: [string, string];
  caption: string;
  file_id: string;
}

export function pathgenJsonRecord(wsiId: string, x: number, y: number, caption: string, fileId: string): string {
  const record: PathgenJsonRecord = { wsi_id: wsiId, position: [String(x), String(y)], caption, file_id: fileId };
  return JSON.stringify(record);
}
