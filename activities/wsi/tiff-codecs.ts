// The lossless TIFF codecs we decode ourselves, so that their tiles go through the same cached,
// one-handle tile path as JPEG ones.
//
// TIFF's LZW variant (MSB-first codes of 9 to 12 bits, "early change" width switch), decoded into a
// buffer of known size. Dictionary entries are kept as (start, length) ranges of the output itself:
// each new entry is the previous string plus one byte, which the output already holds contiguously.

const CLEAR = 256;
const END = 257;

export function decodeTiffLzw(input: Uint8Array, outputLength: number): Buffer {
  const out = Buffer.alloc(outputLength);
  const starts = new Int32Array(4096);
  const lengths = new Int32Array(4096);
  const totalBits = input.length * 8;
  let bitPos = 0;
  let width = 9;
  let next = 258;
  let outLen = 0;
  let prevStart = -1;
  let prevLen = 0;

  const readCode = (): number => {
    if (bitPos + width > totalBits) return END;
    const byte = bitPos >>> 3;
    const window = ((input[byte] ?? 0) << 16) | ((input[byte + 1] ?? 0) << 8) | (input[byte + 2] ?? 0);
    const code = (window >>> (24 - (bitPos & 7) - width)) & ((1 << width) - 1);
    bitPos += width;
    return code;
  };

  while (outLen < outputLength) {
    const code = readCode();
    if (code === END) break;
    if (code === CLEAR) {
      width = 9;
      next = 258;
      prevStart = -1;
      continue;
    }
    const start = outLen;
    if (code < 256) {
      out[outLen++] = code;
    } else if (code < next && lengths[code]! > 0) {
      const length = Math.min(lengths[code]!, outputLength - outLen);
      out.copyWithin(outLen, starts[code]!, starts[code]! + length);
      outLen += length;
    } else if (code === next && prevStart >= 0) {
      // The string being defined right now: previous string plus its own first byte.
      const length = Math.min(prevLen, outputLength - outLen);
      out.copyWithin(outLen, prevStart, prevStart + length);
      outLen += length;
      if (outLen < outputLength) out[outLen++] = out[prevStart] ?? 0;
    } else {
      throw new Error(`corrupt LZW data: code ${code} before it was defined`);
    }
    if (prevStart >= 0 && next < 4096) {
      starts[next] = prevStart;
      lengths[next] = prevLen + 1;
      next++;
      if (next >= (1 << width) - 1 && width < 12) width++;
    }
    prevStart = start;
    prevLen = outLen - start;
  }
  return out;
}

export function decodePackBits(input: Uint8Array, outputLength: number): Buffer {
  const out = Buffer.alloc(outputLength);
  let i = 0;
  let o = 0;
  while (i < input.length && o < outputLength) {
    const n = ((input[i++] ?? 0) << 24) >> 24;
    if (n >= 0) {
      const count = Math.min(n + 1, outputLength - o, input.length - i);
      out.set(input.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) {
      const count = Math.min(1 - n, outputLength - o);
      out.fill(input[i++] ?? 0, o, o + count);
      o += count;
    }
  }
  return out;
}

/** Undoes TIFF predictor 2 (horizontal differencing) on 8-bit chunky samples, in place. */
export function undoHorizontalDifferencing(data: Buffer, width: number, rows: number, samplesPerPixel: number): void {
  const rowBytes = width * samplesPerPixel;
  for (let row = 0; row < rows; row++) {
    const base = row * rowBytes;
    for (let i = samplesPerPixel; i < rowBytes; i++) {
      data[base + i] = ((data[base + i] ?? 0) + (data[base + i - samplesPerPixel] ?? 0)) & 0xff;
    }
  }
}
