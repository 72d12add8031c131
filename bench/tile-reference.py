"""OpenSlide's read_region on the regions bench:tile gives pathgen, one core or several processes.

usage: tile-reference.py SLIDE COORDS.jsonl SIZE PROCESSES
Prints {"regions", "seconds", "regionsPerSecond", "openslide"} as one JSON line. With PROCESSES > 1
each process opens the slide, warms up, and waits at a barrier; the clock runs from the barrier to
the last process done (the way a data loader with N workers reads).
"""
import json
import multiprocessing as mp
import sys
import time

import openslide


def work(path, coords, size, barrier, results):
    slide = openslide.OpenSlide(path)
    for x, y in coords[:10]:
        slide.read_region((x, y), 0, (size, size))
    barrier.wait()
    for x, y in coords:
        slide.read_region((x, y), 0, (size, size))
    results.put(time.perf_counter())


def main():
    path, coords_file, size, processes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(coords_file) as f:
        coords = [(r["x"], r["y"]) for r in map(json.loads, filter(str.strip, f))]
    barrier = mp.Barrier(processes + 1)
    results = mp.Queue()
    shares = [coords[i::processes] for i in range(processes)]
    workers = [mp.Process(target=work, args=(path, share, size, barrier, results)) for share in shares]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    finished = max(results.get() for _ in workers)
    for w in workers:
        w.join()
    seconds = finished - started
    print(json.dumps({
        "regions": len(coords),
        "seconds": seconds,
        "regionsPerSecond": len(coords) / seconds,
        "openslide": openslide.__library_version__,
    }))


if __name__ == "__main__":
    main()
