import type { DataSet } from 'dicom-parser';
import { readDicomHeader, type PixelDataElement } from './dicom-header.js';
import { RandomAccessFile } from './random-access-file.js';
import { slideUnreadable } from './slide-errors.js';

// One instance of a VL Whole Slide Microscopy series as plain data: what decides whether it is a
// level or an associated image, how its frames are laid out and where its pixels are. The parsed
// header (and the prefix it holds) is dropped once these are read.

export interface FramePosition {
  /** ColumnPositionInTotalImagePixelMatrix, 1-based. */
  column: number;
  /** RowPositionInTotalImagePixelMatrix, 1-based. */
  row: number;
  /** The frame's OpticalPathIdentificationSequence identifier, when it says. */
  opticalPath?: string;
}

export interface DicomInstance {
  path: string;
  sopInstanceUid: string;
  seriesUid: string;
  transferSyntax: string;
  /** ImageType value 3 (VOLUME, LABEL, OVERVIEW, THUMBNAIL...): what OpenSlide 4 sorts by. */
  flavor: string;
  /** Total pixel matrix; a single-frame image without one is its frame. */
  width: number;
  height: number;
  /** Frame size (Columns, Rows). */
  tileWidth: number;
  tileHeight: number;
  frames: number;
  photometric: string;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number | undefined;
  pixelRepresentation: number | undefined;
  planarConfiguration: number | undefined;
  focalPlanes: number;
  opticalPaths: number;
  /** OpticalPathSequence[0] OpticalPathIdentifier. */
  firstOpticalPath: string | undefined;
  organization: string | undefined;
  concatenationUid: string | undefined;
  /** PixelSpacing of the shared functional groups in mm: row spacing, then column spacing. */
  pixelSpacing: [number, number] | undefined;
  objectivePower: number | undefined;
  /** Per-frame positions (PerFrameFunctionalGroupsSequence), when the instance lists them. */
  positions: FramePosition[] | undefined;
  pixelData: PixelDataElement;
  extendedOffsets?: number[];
  extendedLengths?: number[];
}

/** The instance's description, or its SOP class when it is DICOM but not a whole-slide image. */
export async function readDicomInstance(path: string): Promise<DicomInstance | { sopClass: string }> {
  const file = await RandomAccessFile.open(path);
  try {
    const header = await readDicomHeader(file);
    if (header.kind === 'other') return { sopClass: header.sopClass };
    const { dataSet } = header;
    const required = (tag: string, name: string, value: number | undefined): number => {
      if (value === undefined || !Number.isFinite(value))
        throw slideUnreadable(path, `DICOM instance has no ${name} (${tag.slice(1, 5)},${tag.slice(5)})`);
      return value;
    };
    const tileWidth = required('x00280011', 'Columns', dataSet.uint16('x00280011'));
    const tileHeight = required('x00280010', 'Rows', dataSet.uint16('x00280010'));
    const instance: DicomInstance = {
      path,
      sopInstanceUid: dataSet.string('x00080018') ?? '',
      seriesUid: dataSet.string('x0020000e') ?? '',
      transferSyntax: header.transferSyntax,
      flavor: (dataSet.string('x00080008', 2) ?? '').toUpperCase(),
      width: dataSet.uint32('x00480006') ?? tileWidth,
      height: dataSet.uint32('x00480007') ?? tileHeight,
      tileWidth,
      tileHeight,
      frames: dataSet.intString('x00280008') ?? 1,
      photometric: dataSet.string('x00280004') ?? '',
      samplesPerPixel: required('x00280002', 'SamplesPerPixel', dataSet.uint16('x00280002')),
      bitsAllocated: required('x00280100', 'BitsAllocated', dataSet.uint16('x00280100')),
      bitsStored: dataSet.uint16('x00280101') ?? dataSet.uint16('x00280100') ?? 0,
      highBit: dataSet.uint16('x00280102'),
      pixelRepresentation: dataSet.uint16('x00280103'),
      planarConfiguration: dataSet.uint16('x00280006'),
      focalPlanes: dataSet.uint32('x00480303') ?? 1,
      opticalPaths: dataSet.uint32('x00480302') ?? 1,
      firstOpticalPath: item(dataSet, 'x00480105')?.string('x00480106'),
      organization: dataSet.string('x00209311')?.toUpperCase(),
      concatenationUid: dataSet.string('x00209161'),
      pixelSpacing: pixelSpacing(dataSet),
      objectivePower: item(dataSet, 'x00480105')?.floatString('x00480112'),
      positions: framePositions(dataSet),
      pixelData: header.pixelData,
    };
    if (header.extendedOffsets) instance.extendedOffsets = header.extendedOffsets;
    if (header.extendedLengths) instance.extendedLengths = header.extendedLengths;
    if (!instance.seriesUid) throw slideUnreadable(path, 'DICOM instance has no SeriesInstanceUID (0020,000E)');
    if (!(instance.frames >= 1)) throw slideUnreadable(path, `NumberOfFrames is ${dataSet.string('x00280008')}`);
    if (instance.width < 1 || instance.height < 1 || tileWidth < 1 || tileHeight < 1)
      throw slideUnreadable(path, `image is ${instance.width}×${instance.height} in ${tileWidth}×${tileHeight} frames`);
    return instance;
  } finally {
    await file.close();
  }
}

function item(dataSet: DataSet, tag: string, index = 0): DataSet | undefined {
  return dataSet.elements[tag]?.items?.[index]?.dataSet;
}

function pixelSpacing(dataSet: DataSet): [number, number] | undefined {
  // Only the shared functional groups, as OpenSlide 4 reads them.
  const shared = item(dataSet, 'x52009229');
  const measures = shared && item(shared, 'x00289110');
  const row = measures?.floatString('x00280030', 0);
  const column = measures?.floatString('x00280030', 1);
  return row !== undefined && column !== undefined && row > 0 && column > 0 ? [row, column] : undefined;
}

function framePositions(dataSet: DataSet): FramePosition[] | undefined {
  const frames = dataSet.elements.x52009230?.items;
  if (!frames) return undefined;
  const positions: FramePosition[] = [];
  for (const frame of frames) {
    const plane = frame.dataSet && item(frame.dataSet, 'x0048021a');
    const column = plane?.int32('x0048021e');
    const row = plane?.int32('x0048021f');
    // Frames without a position leave the instance to TILED_FULL order, as libdicom does.
    if (column === undefined || row === undefined) return undefined;
    const position: FramePosition = { column, row };
    const opticalPath = frame.dataSet && item(frame.dataSet, 'x00480207')?.string('x00480106');
    if (opticalPath) position.opticalPath = opticalPath;
    positions.push(position);
  }
  return positions;
}
