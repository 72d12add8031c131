"""The reference feed for bench:select: candidates → CLIP input tensors the way PathGen's Python does it.

OpenSlide read_region at level 0, PIL bicubic resize to the model's size (open_clip's eval
transform: torchvision Resize on a PIL image, CenterCrop a no-op for squares), ToTensor and
Normalize in numpy, stacked per batch. `single` runs in this process (the caller pins it with
taskset); `pool` runs one process per core, each with its own OpenSlide handle, as a DataLoader
with workers does. Prints {"perSecond": best of the repeats, "runs": [...]} as JSON.

usage: select-feed-reference.py JOB.json   (slide, candidates [[x, y], ...], size, imageSize,
                                            mean, std, batch, mode, processes, repeats)
"""

import json
import sys
import time
from multiprocessing import Pool

import numpy as np
import openslide
from PIL import Image

job = json.load(open(sys.argv[1]))
mean = np.array(job["mean"], dtype=np.float32)
std = np.array(job["std"], dtype=np.float32)
slide = None


def open_handle():
    global slide
    slide = openslide.OpenSlide(job["slide"])


def tensors(origins):
    out = np.empty((len(origins), 3, job["imageSize"], job["imageSize"]), dtype=np.float32)
    size = (job["size"], job["size"])
    for i, (x, y) in enumerate(origins):
        region = slide.read_region((x, y), 0, size).convert("RGB")
        resized = region.resize((job["imageSize"], job["imageSize"]), Image.BICUBIC)
        pixels = np.asarray(resized, dtype=np.float32) / 255.0
        out[i] = ((pixels - mean) / std).transpose(2, 0, 1)
    return out


def batches():
    origins = job["candidates"]
    step = job["batch"]
    return [origins[i : i + step] for i in range(0, len(origins), step)]


def run_once():
    started = time.perf_counter()
    done = 0
    if job["mode"] == "single":
        open_handle()
        for batch in batches():
            done += len(tensors(batch))
    else:
        with Pool(job["processes"], initializer=open_handle) as pool:
            for result in pool.imap(tensors, batches()):
                done += len(result)
    return done / (time.perf_counter() - started)


runs = [run_once() for _ in range(job["repeats"])]
print(json.dumps({"perSecond": max(runs), "runs": runs}))
