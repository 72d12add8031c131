import sharp from 'sharp';

// JPEG-in-TIFF tiles are abbreviated streams: the quantisation and Huffman tables live once in the
// page's JPEGTables tag and each tile carries only its frame and scan. libtiff and OpenSlide splice
// them back together; so do we, then hand the stream to sharp (libjpeg-turbo) for the decode.
//
// Colour space: a JPEG decoder guesses it from JFIF/Adobe markers and component ids, and Aperio
// tiles (Photometric RGB, component ids 0,1,2, no markers) guess wrong: libjpeg takes them for
// YCbCr. OpenSlide overrides the guess with the TIFF Photometric tag; we do the same by replacing
// any JFIF/Adobe marker with an Adobe APP14 marker whose transform flag states the colour space.

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;

export type JpegColourSpace = 'rgb' | 'ycbcr';

function adobeMarker(colourSpace: JpegColourSpace): Buffer {
  // APP14 "Adobe", version 100, flags 0/0, transform 0 = no colour transform (RGB), 1 = YCbCr.
  return Buffer.from([
    0xff,
    APP14,
    0x00,
    0x0e,
    0x41,
    0x64,
    0x6f,
    0x62,
    0x65,
    0x00,
    0x64,
    0,
    0,
    0,
    0,
    colourSpace === 'rgb' ? 0 : 1,
  ]);
}

/**
 * The marker segments of a JPEG stream up to (not including) its first scan, without SOI and
 * without JFIF/Adobe segments, and the rest of the stream from the first SOS on.
 */
function splitHeader(stream: Buffer): { header: Buffer[]; rest: Buffer } {
  const header: Buffer[] = [];
  let at = stream[0] === 0xff && stream[1] === SOI ? 2 : 0;
  while (at + 4 <= stream.length) {
    if (stream[at] !== 0xff) break;
    const marker = stream[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === SOS || marker === EOI) break;
    const length = stream.readUInt16BE(at + 2);
    const end = at + 2 + length;
    if (length < 2 || end > stream.length) break;
    const isColourMarker = marker === APP0 || marker === APP14;
    if (!isColourMarker) header.push(stream.subarray(at, end));
    at = end;
  }
  return { header, rest: stream.subarray(at) };
}

/** A complete, self-describing JPEG stream from a TIFF tile and its page's JPEGTables. */
export function assembleJpegTile(tile: Buffer, tables: Buffer | undefined, colourSpace: JpegColourSpace): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, SOI]), adobeMarker(colourSpace)];
  if (tables) parts.push(...splitHeader(tables).header);
  const { header, rest } = splitHeader(tile);
  parts.push(...header, rest);
  return Buffer.concat(parts);
}

export interface DecodedJpeg {
  data: Buffer;
  width: number;
  height: number;
  /** libjpeg's complaints about the data that libvips passed over (see jpeg-tile-stack). */
  warnings: string[];
}

const corruptionWarning = /corrupt|premature|extraneous|warnings|huffman|marker/i;

/**
 * Decodes a JPEG to packed RGB. `maxPixels` bounds what a damaged header can make us allocate; a
 * libjpeg error fails, and sharp's strictest level turns most warnings into errors too. Warnings it
 * lets through are returned. (sharp delivers warnings from a process-wide queue, so under
 * concurrency one may belong to another decode: callers treat them as a reason to check, not proof.)
 */
export async function decodeJpegToRgb(jpeg: Buffer, maxPixels: number): Promise<DecodedJpeg> {
  const warnings: string[] = [];
  const pipeline = sharp(jpeg, { limitInputPixels: maxPixels, failOn: 'warning' }).on('warning', (warning: string) => {
    if (corruptionWarning.test(warning)) warnings.push(warning.trim());
  });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data, width: info.width, height: info.height, warnings };
  if (info.channels === 1) return { data: greyToRgb(data), width: info.width, height: info.height, warnings };
  // CMYK and other rarities: let libvips do the colour conversion.
  const converted = await sharp(jpeg, { limitInputPixels: maxPixels, failOn: 'warning' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: converted.data, width: converted.info.width, height: converted.info.height, warnings };
}

export function greyToRgb(grey: Buffer): Buffer {
  const rgb = Buffer.allocUnsafe(grey.length * 3);
  for (let i = 0, o = 0; i < grey.length; i++, o += 3) {
    const v = grey[i] ?? 0;
    rgb[o] = v;
    rgb[o + 1] = v;
    rgb[o + 2] = v;
  }
  return rgb;
}
