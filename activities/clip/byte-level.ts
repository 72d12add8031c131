// CLIP's BPE runs on strings of "byte characters": every UTF-8 byte is shown as one printable code
// point, so merges never see raw whitespace or control bytes and every byte sequence stays encodable
// (no unknown token). The table is GPT-2's and open_clip's `bytes_to_unicode`: printable Latin-1
// bytes stand for themselves, the other 68 bytes take code points from U+0100 upward in byte order.

function printableLatin1(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteTable(): string[] {
  const table: string[] = [];
  let next = 0;
  for (let byte = 0; byte < 256; byte += 1) {
    table.push(String.fromCharCode(printableLatin1(byte) ? byte : 256 + next++));
  }
  return table;
}

/** Byte value → its byte character. */
const byteToChar: readonly string[] = buildByteTable();
const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((char, byte) => [char, byte]));

/**
 * The 256 byte characters in the order open_clip lists them in its vocabulary: the printable bytes
 * in byte order first, then the remapped ones (dict insertion order of `bytes_to_unicode`).
 */
export const byteAlphabet: readonly string[] = [
  ...byteToChar.filter((_, byte) => printableLatin1(byte)),
  ...byteToChar.filter((_, byte) => !printableLatin1(byte)),
];

const utf8 = new TextEncoder();
// Invalid sequences become U+FFFD like Python's `decode('utf-8', errors='replace')`.
const utf8Lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function toByteCharacters(text: string): string {
  let out = '';
  for (const byte of utf8.encode(text)) out += byteToChar[byte];
  return out;
}

/** The inverse of `toByteCharacters`, or undefined when `chars` holds a non-byte character. */
export function fromByteCharacters(chars: string): string | undefined {
  const bytes = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i += 1) {
    const byte = charToByte.get(chars.charAt(i));
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return utf8Lenient.decode(bytes);
}

export function isByteCharacter(char: string): boolean {
  return charToByte.has(char);
}
