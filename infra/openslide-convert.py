#!/usr/bin/env python3
"""Streams a slide as OpenSlide 4 reads it, for pathgen's slide conversion.

Run by activities/wsi/slide-conversion.ts in .tools/openslide-venv (openslide-bin, openslide-python,
Pillow; infra/install-tools.sh makes it). Usage: openslide-convert.py SLIDE

stdout, in this order:
  1. one JSON line: vendor, mpp, objective power, the levels (width, height, downsample) and the
     associated images (name, width, height) that follow, plus the tile size;
  2. each level's pixels as raw RGB tiles of TILE x TILE, row-major, composited over white
     (transparent, i.e. no data, is white) and padded with white past the level's edges;
  3. each listed associated image's raw RGB, width x height, composited over white.
At most READS_IN_FLIGHT reads of STRIP_TILES tiles are held at once (with 8 threads, 9 x 4 MiB).

Exit codes: 0 done; 2 usage; 3 OpenSlide cannot open the slide (its message on stderr);
4 openslide-python or the OpenSlide library does not load; 1 a read failed midway (message on stderr).
"""

import collections
import concurrent.futures
import json
import math
import os
import sys

TILE = 256
# Tiles read per read_region call: 16 x 256 x 256 RGBA is 4 MiB, and fewer calls cost less.
STRIP_TILES = 16
# Threads reading at once (one per core, up to 8), and strips read ahead of the one being written.
THREADS = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
READS_IN_FLIGHT = THREADS + 1
# The largest associated image worth carrying (open-slide.ts refuses to decode larger ones).
MAX_ASSOCIATED_PIXELS = 100_000_000


def fail(code, message):
    print(f"openslide-convert: {message}", file=sys.stderr)
    sys.exit(code)


try:
    import openslide
    from PIL import Image
except Exception as error:  # ImportError, or OSError when the library itself does not load
    fail(4, f"openslide-python does not load in {sys.executable}: {error}")
# Every machine converts with the same OpenSlide: a distribution's older one (Debian's 3.4) reads
# fewer formats and reads some differently.
if int(openslide.__library_version__.split(".")[0]) < 4:
    fail(4, f"{sys.executable} loads OpenSlide {openslide.__library_version__}, not 4 or newer")


def over_white(image):
    """openslide-python's RGBA (alpha straight, not premultiplied) on a white background, as RGB."""
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def number(properties, key):
    try:
        value = float(properties[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def readable_associated(slide):
    """The associated images OpenSlide decodes now; one that does not is left out, not fatal."""
    images = []
    for name in slide.associated_images:
        try:
            width, height = slide.associated_images[name].size
        except openslide.OpenSlideError as error:
            print(f"openslide-convert: skipping associated image {name}: {error}", file=sys.stderr)
            continue
        if width * height > MAX_ASSOCIATED_PIXELS:
            print(f"openslide-convert: skipping associated image {name}: {width}x{height} is too large", file=sys.stderr)
            continue
        images.append({"name": name, "width": width, "height": height})
    return images


def strips(slide, level):
    """The level's reads, in stream order: (level-0 origin, tiles across) per strip of a tile row."""
    width, height = slide.level_dimensions[level]
    downsample = slide.level_downsamples[level]
    across = math.ceil(width / TILE)
    for row in range(math.ceil(height / TILE)):
        for first in range(0, across, STRIP_TILES):
            # Level-0 coordinates, truncated as vips' openslideload did; past the edge OpenSlide
            # returns transparent pixels, which become the white padding.
            yield (int(first * TILE * downsample), int(row * TILE * downsample)), min(STRIP_TILES, across - first)


def write_level(out, slide, level, pool):
    # OpenSlide decodes (JPEG 2000 above all) take nearly all the time, and read_region releases the
    # GIL: a few strips are read at once, written in order, at most READS_IN_FLIGHT held.
    def read(origin, count):
        return over_white(slide.read_region(origin, level, (count * TILE, TILE))), count

    pending = collections.deque()
    for origin, count in strips(slide, level):
        pending.append(pool.submit(read, origin, count))
        if len(pending) >= READS_IN_FLIGHT:
            write_strip(out, *pending.popleft().result())
    while pending:
        write_strip(out, *pending.popleft().result())


def write_strip(out, strip, count):
    for i in range(count):
        out.write(strip.crop((i * TILE, 0, (i + 1) * TILE, TILE)).tobytes())


def main():
    if len(sys.argv) != 2:
        fail(2, "usage: openslide-convert.py SLIDE")
    path = sys.argv[1]
    try:
        slide = openslide.OpenSlide(path)
    except (openslide.OpenSlideError, OSError) as error:  # OpenSlideUnsupportedFormatError is an OpenSlideError
        fail(3, f"OpenSlide {openslide.__library_version__} cannot open {path}: {error or type(error).__name__}")

    properties = slide.properties
    associated = readable_associated(slide)
    header = {
        "openslide": openslide.__library_version__,
        "vendor": properties.get(openslide.PROPERTY_NAME_VENDOR),
        "mppX": number(properties, openslide.PROPERTY_NAME_MPP_X),
        "mppY": number(properties, openslide.PROPERTY_NAME_MPP_Y),
        "objectivePower": number(properties, openslide.PROPERTY_NAME_OBJECTIVE_POWER),
        "tileSize": TILE,
        "levels": [
            {"width": w, "height": h, "downsample": d}
            for (w, h), d in zip(slide.level_dimensions, slide.level_downsamples)
        ],
        "associated": associated,
    }
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n")
    try:
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            for level in range(slide.level_count):
                write_level(out, slide, level, pool)
        for image in associated:
            rgb = over_white(slide.associated_images[image["name"]])
            if rgb.size != (image["width"], image["height"]):
                fail(1, f"associated image {image['name']} changed size while reading")
            out.write(rgb.tobytes())
        out.flush()
    except openslide.OpenSlideError as error:
        fail(1, f"OpenSlide failed reading {path}: {error}")
    except BrokenPipeError:
        # The reader went away (a cancelled conversion): nothing waits for an answer, and the
        # interpreter's own flush of stdout at exit must not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
