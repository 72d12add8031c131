"""Writes an Aperio SVS whose pyramid levels are JPEG 2000 tiles from one of our JPEG SVS slides.

    jp2k-svs-fixture.py SOURCE.svs OUT.svs --compression 33003|33005 [--chroma 422|444] [--psnr 56]

Runs in .tools/python-ref (OpenSlide 4 through openslide-bin, tifffile, imagecodecs). Each tiled page
of SOURCE is decoded with OpenSlide, re-encoded tile by tile as raw J2K codestreams (OpenSlide's
decoder opens them with OPJ_CODEC_J2K: a JP2 box wrapper would not open) and written with tifffile
under the source page's ImageDescription, so OpenSlide takes the file as Aperio. Non-tiled pages
(thumbnail, label, macro) are copied segment for segment. Prints a JSON summary.

33005 ("RGB"): the codestream holds R, G, B with the irreversible colour transform (MCT); OpenJPEG
undoes the MCT and OpenSlide copies the three components as R, G, B.

33003 ("YCbCr"): the codestream holds Y, Cb, Cr with no MCT, and OpenSlide converts them itself
with its JFIF tables (full range: R = Y + 1.402 (Cr - 128), ...). Aperio writes Cb and Cr at half the
horizontal resolution (4:2:2), the layout OpenSlide decodes on its fast path; 4:4:4 takes its slow
path. imagecodecs cannot subsample one component, so for 4:2:2 the three planes are encoded as
separate one-component codestreams and merged into one (see merge_planes).
"""

import argparse
import json
import struct
import sys

import imagecodecs
import numpy as np
import openslide
import tifffile

SOC, SIZ, COD, COC, QCD, QCC, COM, SOT, SOD, EOC = (
    0xFF4F,
    0xFF51,
    0xFF52,
    0xFF53,
    0xFF5C,
    0xFF5D,
    0xFF64,
    0xFF90,
    0xFF93,
    0xFFD9,
)
CPRL = 4


def rgb_to_ycbcr(rgb):
    """JFIF full-range YCbCr as floats: the inverse of OpenSlide's tables in make-tables.c."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


def to_u8(plane):
    return np.ascontiguousarray(np.clip(np.rint(plane), 0, 255).astype(np.uint8))


def parse_codestream(codestream):
    """Main-header marker segments and the data of a single-tile, single-tile-part codestream."""
    if codestream[:2] != b"\xff\x4f":
        raise ValueError("not a raw J2K codestream (no SOC)")
    segments, pos = [], 2
    while True:
        (marker,) = struct.unpack(">H", codestream[pos : pos + 2])
        if marker == SOT:
            break
        (length,) = struct.unpack(">H", codestream[pos + 2 : pos + 4])
        segments.append((marker, codestream[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    isot, psot, _tpsot, tnsot = struct.unpack(">HIBB", codestream[pos + 4 : pos + 12])
    if isot != 0 or tnsot not in (0, 1) or codestream[pos + 12 : pos + 14] != b"\xff\x93":
        raise ValueError("expected one tile in one tile-part with an empty tile-part header")
    end = pos + psot if psot else len(codestream) - 2
    if codestream[end : end + 2] != b"\xff\xd9":
        raise ValueError("tile-part does not end at EOC")
    unknown = {m for m, _ in segments} - {SIZ, COD, QCD, COM}
    if unknown:
        raise ValueError(f"unexpected main-header markers {sorted(hex(m) for m in unknown)}")
    return dict(segments), codestream[pos + 14 : end]


def segment(marker, body):
    return struct.pack(">HH", marker, len(body) + 2) + body


def merge_planes(y, cb, cr):
    """One 3-component codestream (Y full size, Cb and Cr at half width) from three 1-component ones.

    With one tile, one quality layer and one precinct per resolution (OpenJPEG's defaults), a
    1-component codestream's packets are its resolutions in order, whatever the progression; in
    CPRL order a 3-component codestream's packets are component 0's, then 1's, then 2's. So the
    merged tile data is the three tile datas one after another, under a SIZ listing the three
    components (XRsiz 1, 2, 2), Y's COD switched to CPRL (MCT stays 0), and QCC/COC for Cb and Cr.
    """
    parsed = [parse_codestream(c) for c in (y, cb, cr)]
    (y_head, _), _, _ = parsed
    siz = y_head[SIZ]
    # SIZ: Rsiz, then 8 four-byte sizes and offsets, Csiz, and Ssiz, XRsiz, YRsiz per component.
    if struct.unpack(">H", siz[34:36])[0] != 1:
        raise ValueError("expected one-component codestreams")
    ssiz = siz[36]
    merged_siz = siz[:34] + struct.pack(">H", 3) + bytes([ssiz, 1, 1, ssiz, 2, 1, ssiz, 2, 1])
    cod = bytearray(y_head[COD])
    if struct.unpack(">H", cod[2:4])[0] != 1:
        raise ValueError("expected one quality layer")
    cod[1] = CPRL
    cod[4] = 0  # no multi-component transform: the components are Y, Cb, Cr as OpenSlide expects
    out = b"\xff\x4f" + segment(SIZ, merged_siz) + segment(COD, bytes(cod)) + segment(QCD, y_head[QCD])
    for component, (head, _) in enumerate(parsed[1:], start=1):
        if head[COD][5:] != y_head[COD][5:]:
            out += segment(COC, bytes([component, head[COD][0] & 1]) + head[COD][5:])
        out += segment(QCC, bytes([component]) + head[QCD])
    data = b"".join(d for _, d in parsed)
    out += struct.pack(">HHHIBB", SOT, 10, 0, 12 + 2 + len(data), 0, 1) + b"\xff\x93" + data
    return out + b"\xff\xd9"


def encode_tile(rgb, compression, chroma, psnr):
    options = {"level": psnr, "codecformat": "J2K", "reversible": False}
    if compression == 33005:
        return imagecodecs.jpeg2k_encode(rgb, mct=True, **options)
    y, cb, cr = rgb_to_ycbcr(rgb)
    if chroma == "444":
        ycc = np.stack([to_u8(y), to_u8(cb), to_u8(cr)], axis=-1)
        return imagecodecs.jpeg2k_encode(ycc, mct=False, **options)
    # 4:2:2: each chroma sample is the mean of two horizontal neighbours (OpenSlide replicates it).
    half = lambda c: to_u8((c[:, 0::2] + c[:, 1::2]) / 2)  # noqa: E731
    return merge_planes(*(imagecodecs.jpeg2k_encode(p, **options) for p in (to_u8(y), half(cb), half(cr))))


def level_tiles(slide, level, page, compression, chroma, psnr):
    width, height = slide.level_dimensions[level]
    rgb = np.asarray(slide.read_region((0, 0), level, (width, height)).convert("RGB"))
    tw, th = page.tilewidth, page.tilelength
    across, down = -(-width // tw), -(-height // th)
    # Edge tiles are full-size codestreams (OpenSlide checks the size), padded with white glass.
    padded = np.full((down * th, across * tw, 3), 255, np.uint8)
    padded[:height, :width] = rgb
    for row in range(down):
        for col in range(across):
            tile = np.ascontiguousarray(padded[row * th : (row + 1) * th, col * tw : (col + 1) * tw])
            yield encode_tile(tile, compression, chroma, psnr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--compression", type=int, choices=(33003, 33005), required=True)
    parser.add_argument("--chroma", choices=("422", "444"), default="422")
    parser.add_argument("--psnr", type=float, default=56)
    args = parser.parse_args()

    slide = openslide.OpenSlide(args.source)
    pages_written = []
    with tifffile.TiffFile(args.source) as source, tifffile.TiffWriter(args.out) as out:
        level = 0
        for page in source.pages:
            common = {
                "shape": page.shape,
                "dtype": page.dtype,
                "photometric": "rgb",
                "description": page.description,
                "subfiletype": page.subfiletype,
                "metadata": None,
            }
            if page.is_tiled:
                tiles = level_tiles(slide, level, page, args.compression, args.chroma, args.psnr)
                out.write(tiles, tile=(page.tilelength, page.tilewidth), compression=args.compression, **common)
                pages_written.append({"level": level, "width": page.imagewidth, "height": page.imagelength})
                level += 1
                continue
            # Thumbnail, label and macro: their encoded strips as they are, with the tags they need.
            fh = source.filehandle
            strips = []
            for offset, count in zip(page.dataoffsets, page.databytecounts):
                fh.seek(offset)
                strips.append(fh.read(count))
            extra = {"jpegtables": page.jpegtables} if page.jpegtables is not None else {}
            if page.compression == 7:
                # libtiff's JPEG codec checks the strips' sampling against YCbCrSubSampling, and
                # tifffile would otherwise write YCbCr 2,2 for a JPEG page: keep the source's tags.
                subsampling = page.tags.get(530)
                extra["subsampling"] = tuple(subsampling.value) if subsampling is not None else (2, 2)
                extra["compressionargs"] = {"outcolorspace": page.photometric}
            common["photometric"] = page.photometric
            # OpenSlide 4 names Aperio's associated pages by NewSubfileType (label 1, macro 9, as
            # scanners write), not by their description as 3.4 did.
            kind = page.description.split("\n")[-1].split(" ")[0]
            common["subfiletype"] = {"label": 1, "macro": 9}.get(kind, page.subfiletype)
            out.write(
                iter(strips),
                compression=page.compression,
                predictor=page.predictor,
                rowsperstrip=page.rowsperstrip,
                **extra,
                **common,
            )
            pages_written.append({"associated": page.description.split("\n")[-1][:40]})
    json.dump({"path": args.out, "compression": args.compression, "pages": pages_written}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
