"""Writes a DICOM whole-slide image (one .dcm per level, label, overview, thumbnail) from an SVS.

    dicom-wsi-fixture.py SOURCE.svs OUTDIR [--frames jpeg|jpeg2000|jpeg2000-lossless]
                         [--tiling full|sparse] [--drop COL,ROW ...] [--reverse-frames] [--psnr DB] [--seed S]

Runs in .tools/python-ref. wsidicomizer converts SOURCE: with --frames jpeg it copies the SVS's JPEG
tiles as frames (PhotometricInterpretation RGB for Aperio "JPEG/RGB" tiles, YBR_FULL_422 for YCbCr
ones); with jpeg2000 it re-encodes every frame as a J2K codestream with the irreversible colour
transform (YBR_ICT, transfer syntax 1.2.840.10008.1.2.4.91), jpeg2000-lossless with the reversible
one (YBR_RCT, .90). wsidicomizer writes TILED_FULL only; --tiling sparse rewrites each VOLUME
instance with pydicom as TILED_SPARSE: a PerFrameFunctionalGroupsSequence item per frame whose
PlanePositionSlideSequence gives the frame's 1-based column/row in the total pixel matrix (and its
slide coordinates). --drop removes level-0 tiles (0-based tile column,row) so the level is really
sparse (OpenSlide 4 paints absent frames transparent); --reverse-frames stores the frames in reverse
order, so a reader that ignores the positions reads the wrong tiles. UIDs derive from --seed, so a
rerun gives the same study, series and instance UIDs (only times differ). Prints a JSON summary:
files, level-0 file, levels, associated.
"""

import argparse
import itertools
import json
import os
import sys

import imagecodecs
import numpy as np
import openslide
import opentile.jpeg.jpeg as opentile_jpeg
import pydicom
import tifffile
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from pydicom.valuerep import DS

# opentile looks libturbojpeg up with ctypes.util.find_library, which on some Pythons (3.11.7 with
# gcc installed) raises instead of returning None; it then falls back to PyTurboJPEG's paths.
_find_library = opentile_jpeg.find_library


def _find_library_or_none(name):
    try:
        return _find_library(name)
    except OSError:
        return None


opentile_jpeg.find_library = _find_library_or_none

from wsidicom.codec import Channels, Jpeg2kSettings  # noqa: E402
from wsidicomizer import WsiDicomizer  # noqa: E402


def flavor(ds):
    return ds.ImageType[2]


def tile_grid(ds):
    return -(-ds.TotalPixelMatrixColumns // ds.Columns), -(-ds.TotalPixelMatrixRows // ds.Rows)


def slide_offsets(ds, column, row):
    """Slide coordinates (mm) of a pixel's top-left, from the origin, orientation and spacing."""
    origin = ds.TotalPixelMatrixOriginSequence[0]
    o = [float(v) for v in ds.ImageOrientationSlide]
    measures = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    row_spacing, column_spacing = (float(v) for v in measures.PixelSpacing)
    x = float(origin.XOffsetInSlideCoordinateSystem) + o[0] * column * column_spacing + o[3] * row * row_spacing
    y = float(origin.YOffsetInSlideCoordinateSystem) + o[1] * column * column_spacing + o[4] * row * row_spacing
    return x, y


def make_sparse(path, drop, reverse):
    """Rewrites a TILED_FULL instance as TILED_SPARSE, without the `drop` tiles; returns its frame count."""
    ds = pydicom.dcmread(path)
    across, down = tile_grid(ds)
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))
    if len(frames) != across * down:
        raise ValueError(f"{path}: {len(frames)} frames for a {across}x{down} grid")
    outside = {t for t in drop if not (0 <= t[0] < across and 0 <= t[1] < down)}
    if outside:
        raise ValueError(f"{path}: tiles {sorted(outside)} are outside the {across}x{down} grid")
    # TILED_FULL order: along a row, then down (one focal plane, one optical path).
    kept = [(c, r, frames[r * across + c]) for r in range(down) for c in range(across) if (c, r) not in drop]
    if reverse:
        kept.reverse()
    items = []
    for c, r, _ in kept:
        column, row = c * ds.Columns, r * ds.Rows
        x, y = slide_offsets(ds, column, row)
        position = Dataset()
        position.XOffsetInSlideCoordinateSystem = DS(x, auto_format=True)
        position.YOffsetInSlideCoordinateSystem = DS(y, auto_format=True)
        position.ZOffsetInSlideCoordinateSystem = DS(0)
        position.ColumnPositionInTotalImagePixelMatrix = column + 1
        position.RowPositionInTotalImagePixelMatrix = row + 1
        item = Dataset()
        item.PlanePositionSlideSequence = Sequence([position])
        items.append(item)
    ds.DimensionOrganizationType = "TILED_SPARSE"
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    ds.NumberOfFrames = len(kept)
    for offsets in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if offsets in ds:
            del ds[offsets]
    ds.PixelData = encapsulate([f for _, _, f in kept], has_bot=True)
    ds.save_as(path, enforce_file_format=True)
    return len(kept)


def multi_scan_thumbnail(source):
    """True when the SVS thumbnail's JPEG strips hold several scans (our Aperio "JPEG/RGB" strips:
    one scan per component). opentile joins strips into one frame with restart markers, which is
    only valid for single-scan strips, so that frame is corrupt (libjpeg: "found marker 0xda
    instead of RST0")."""
    with tifffile.TiffFile(source) as tiff:
        if len(tiff.pages) < 2 or tiff.pages[1].is_tiled or tiff.pages[1].compression != 7:
            return False
        page = tiff.pages[1]
        tiff.filehandle.seek(page.dataoffsets[0])
        return tiff.filehandle.read(page.databytecounts[0]).count(b"\xff\xda") > 1


def reencode_thumbnail(path, source):
    """Replaces a thumbnail instance's frame with the source thumbnail re-encoded as YCbCr 4:2:2."""
    ds = pydicom.dcmread(path)
    rgb = np.asarray(openslide.OpenSlide(source).associated_images["thumbnail"].convert("RGB"))
    if rgb.shape != (ds.Rows, ds.Columns, 3) or int(ds.get("NumberOfFrames", 1)) != 1:
        raise ValueError(f"{path}: thumbnail is not one {rgb.shape[1]}x{rgb.shape[0]} frame")
    jpeg = imagecodecs.jpeg8_encode(rgb, level=90, subsampling="422")
    ds.PixelData = encapsulate([bytes(jpeg)], has_bot=True)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.save_as(path, enforce_file_format=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("outdir")
    parser.add_argument("--frames", choices=("jpeg", "jpeg2000", "jpeg2000-lossless"), default="jpeg")
    parser.add_argument("--tiling", choices=("full", "sparse"), default="full")
    parser.add_argument("--drop", action="append", default=[], help="level-0 tile COL,ROW to leave out (sparse)")
    parser.add_argument("--reverse-frames", action="store_true")
    parser.add_argument("--psnr", type=int, default=56, help="JPEG 2000 quality in dB (lossy frames)")
    parser.add_argument("--seed", default="pathgen")
    args = parser.parse_args()
    if args.tiling == "full" and (args.drop or args.reverse_frames):
        parser.error("--drop and --reverse-frames need --tiling sparse")
    drop = {tuple(int(v) for v in d.split(",")) for d in args.drop}

    options = {}
    if args.frames != "jpeg":
        levels = 0 if args.frames == "jpeg2000-lossless" else args.psnr
        options = {"encoding": Jpeg2kSettings(levels=levels, channels=Channels.YBR), "force_transcoding": True}
    counter = itertools.count()
    uids = lambda: generate_uid(entropy_srcs=[args.seed, str(next(counter))])  # noqa: E731
    os.makedirs(args.outdir, exist_ok=True)
    files = WsiDicomizer.convert(args.source, args.outdir, uid_generator=uids, workers=1, **options)

    # Stable names (level-0.dcm, label.dcm, ...) instead of the SOP instance UIDs wsidicomizer uses.
    found = [(pydicom.dcmread(f, stop_before_pixels=True), f) for f in files]
    volumes = sorted((x for x in found if flavor(x[0]) == "VOLUME"), key=lambda x: -x[0].TotalPixelMatrixColumns)
    summary = {"files": [], "levels": [], "associated": {}, "frames": args.frames, "tiling": args.tiling}
    for level, (ds, f) in enumerate(volumes):
        path = os.path.join(args.outdir, f"level-{level}.dcm")
        os.replace(f, path)
        frames = int(ds.NumberOfFrames)
        if args.tiling == "sparse":
            frames = make_sparse(path, drop if level == 0 else set(), args.reverse_frames)
        across, down = tile_grid(ds)
        summary["levels"].append(
            {
                "path": path,
                "width": int(ds.TotalPixelMatrixColumns),
                "height": int(ds.TotalPixelMatrixRows),
                "tileWidth": int(ds.Columns),
                "tileHeight": int(ds.Rows),
                "tilesAcross": across,
                "tilesDown": down,
                "frames": frames,
                "photometric": ds.PhotometricInterpretation,
                "transferSyntax": str(ds.file_meta.TransferSyntaxUID),
            }
        )
        summary["files"].append(path)
    for ds, f in found:
        if flavor(ds) == "VOLUME":
            continue
        path = os.path.join(args.outdir, f"{flavor(ds).lower()}.dcm")
        os.replace(f, path)
        if flavor(ds) == "THUMBNAIL" and args.frames == "jpeg" and multi_scan_thumbnail(args.source):
            reencode_thumbnail(path, args.source)
        summary["associated"][flavor(ds).lower()] = path
        summary["files"].append(path)
    summary["level0"] = summary["levels"][0]["path"]
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
