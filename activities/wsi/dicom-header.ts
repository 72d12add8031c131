import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import type { RandomAccessFile } from './random-access-file.js';
import { isSlideError, slideUnreadable, unsupportedFormat } from './slide-errors.js';

// The header of one DICOM instance: everything before Pixel Data, read from a growing prefix of the
// file so a multi-GB instance costs a few reads, never a whole load. dicom-parser does the element
// grammar; the top-level loop is ours because dicom-parser 1.8 reads the 64-bit VRs (OV, SV, UV) of
// the Extended Offset Table with a 2-byte length and would lose its place right before Pixel Data.

export const wsiSopClass = '1.2.840.10008.5.1.4.1.1.77.1.6';
const pixelDataTags = new Set(['x7fe00010', 'x7fe00008', 'x7fe00009']);
const longVrs = new Set(['OV', 'SV', 'UV']);
/** Transfer syntaxes whose data set is not Explicit VR Little Endian, which the loop below reads. */
const otherEncodings: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
};
const firstRead = 256 * 1024;
/** Past this a header is not a header: per-frame sequences of 200,000 frames stay far below it. */
const maxHeaderBytes = 512 * 1024 * 1024;

export interface PixelDataElement {
  tag: string;
  /** Where the element's value starts: the Basic Offset Table item when encapsulated. */
  valueOffset: number;
  /** Undefined for encapsulated (compressed) pixel data, whose length is undefined. */
  length: number | undefined;
}

export type DicomHeader =
  | { kind: 'other'; sopClass: string }
  | {
      kind: 'wsi';
      transferSyntax: string;
      /** Only valid while this header is in use: it holds the prefix read. */
      dataSet: DataSet;
      pixelData: PixelDataElement;
      /** Extended Offset Table (7FE0,0001) and its lengths (7FE0,0002), when present. */
      extendedOffsets?: number[];
      extendedLengths?: number[];
    };

interface Parsed {
  dataSet: DataSet;
  pixelData: PixelDataElement;
}

/** The file must start with the 128-byte preamble and 'DICM' (checked by the caller). */
export async function readDicomHeader(file: RandomAccessFile): Promise<DicomHeader> {
  let length = Math.min(file.size, firstRead);
  for (;;) {
    const bytes = await file.read(0, length);
    const whole = length === file.size;
    try {
      const meta = dicomParser.readPart10Header(bytes) as DataSet & { position: number };
      const sopClass = meta.string('x00020002') ?? '';
      if (sopClass !== wsiSopClass) return { kind: 'other', sopClass };
      const transferSyntax = meta.string('x00020010');
      if (!transferSyntax)
        throw slideUnreadable(file.path, 'DICOM file meta information has no Transfer Syntax UID (0002,0010)');
      const encoding = otherEncodings[transferSyntax];
      if (encoding) {
        throw unsupportedFormat(
          file.path,
          `transfer syntax ${transferSyntax} (${encoding}) is not supported for whole-slide images`,
          { transferSyntax },
        );
      }
      const parsed = parseDataSet(bytes, meta.position);
      if (parsed) return { kind: 'wsi', transferSyntax, ...parsed, ...extendedOffsetTable(parsed.dataSet) };
    } catch (error) {
      if (isSlideError(error)) throw error;
      if (whole)
        throw slideUnreadable(file.path, `DICOM header is truncated or damaged (${describe(error)})`, {}, error);
    }
    if (whole)
      throw slideUnreadable(
        file.path,
        'DICOM file has no Pixel Data element: the instance is truncated or not an image',
      );
    if (length >= maxHeaderBytes)
      throw slideUnreadable(file.path, `DICOM header does not end within its first ${maxHeaderBytes} bytes`);
    length = Math.min(file.size, length * 4, maxHeaderBytes);
  }
}

/** Top-level elements up to Pixel Data; undefined when the prefix ends first. */
function parseDataSet(bytes: Buffer, start: number): Parsed | undefined {
  if (start >= bytes.length) return undefined;
  const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, bytes, start);
  const elements: Record<string, Element> = {};
  const warnings: string[] = [];
  while (stream.position + 12 <= bytes.length) {
    const at = stream.position;
    const tag = `x${hex4(bytes.readUInt16LE(at))}${hex4(bytes.readUInt16LE(at + 2))}`;
    const vr = bytes.toString('latin1', at + 4, at + 6);
    if (pixelDataTags.has(tag)) {
      // OB/OW/OF/OD all have the 12-byte header: tag, VR, two reserved bytes, 32-bit length.
      const length = bytes.readUInt32LE(at + 8);
      const dataSet = new DataSetClass(dicomParser.littleEndianByteArrayParser, bytes, elements);
      return { dataSet, pixelData: { tag, valueOffset: at + 12, length: length === 0xffffffff ? undefined : length } };
    }
    if (longVrs.has(vr)) {
      const length = bytes.readUInt32LE(at + 8);
      elements[tag] = { tag, vr, length, dataOffset: at + 12 };
      stream.position = at + 12 + length;
      continue;
    }
    const element = dicomParser.readDicomElementExplicit(stream, warnings);
    elements[element.tag] = element;
  }
  return undefined;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}

// dicom-parser exports its DataSet class at runtime; its typings declare only the interface.
const DataSetClass = (
  dicomParser as unknown as {
    DataSet: new (parser: DataSet['byteArrayParser'], bytes: Buffer, elements: Record<string, Element>) => DataSet;
  }
).DataSet;

function extendedOffsetTable(dataSet: DataSet): { extendedOffsets?: number[]; extendedLengths?: number[] } {
  const offsets = uint64s(dataSet, 'x7fe00001');
  const lengths = uint64s(dataSet, 'x7fe00002');
  if (!offsets) return {};
  return lengths ? { extendedOffsets: offsets, extendedLengths: lengths } : { extendedOffsets: offsets };
}

function uint64s(dataSet: DataSet, tag: string): number[] | undefined {
  const element = dataSet.elements[tag];
  if (!element || element.length === 0) return undefined;
  const bytes = dataSet.byteArray as Buffer;
  const values: number[] = [];
  for (let at = element.dataOffset; at + 8 <= element.dataOffset + element.length; at += 8)
    values.push(Number(bytes.readBigUInt64LE(at)));
  return values;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'exception' in error) return String(error.exception);
  return String(error);
}
