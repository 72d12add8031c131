#!/usr/bin/env python3
"""pathgen's entry point to open_clip's trainer (open_clip_train.main), for the train stage.

It hands the command line to open_clip_train unchanged, and around it:

1. registers the model configs in infra/train/model-configs/ (pathgen-tiny, ...) with open_clip, so
   `--model pathgen-tiny` works like a built-in name;
2. makes failures visible and non-zero: an exception is logged through open_clip's logger (so it
   is the last line of both the console stream and out.log) and exits 1; open_clip's own refusals
   (it *returns* -1, which its __main__ turns into exit 0) exit 1 too, after an ERROR line;
3. lets SIGTERM end the process at once, as the train activity's cancellation expects (it signals
   the whole process group, which includes the dataloader workers), and, when
   PATHGEN_TRAIN_PARENT_PID is set, stops within a second or two once that process (or its own
   parent) is gone: the activity starts the trainer in a process group of its own, so a worker
   killed with SIGKILL would otherwise leave it training on, unwatched;
4. writes checkpoints atomically: open_clip's torch.save writes epoch_N.pt in place, so a process
   killed while saving leaves a truncated epoch_N.pt that `--resume latest` then picks and fails
   on. Here each file is written as epoch_N.pt.partial and renamed when complete, so an epoch_N.pt
   that exists is whole (watchers must ignore *.partial), and then logged as
   "pathgen_train: saved checkpoint <path>";
5. checks that every local --train-data / --val-data file exists: open_clip would skip a missing
   shard with a warning and train on the rest;
6. lets open_clip's DistributedDataParallel wrap a model on the CPU (open_clip passes device ids,
   which torch refuses for CPU modules), so torchrun with gloo trains on machines without a GPU.

Run it with the training environment's Python (`infra/install-tools.sh --train`; the train stage
uses $PATHGEN_TRAIN_PYTHON, default .tools/train-venv/bin/python). Without CUDA open_clip falls
back to the CPU with a UserWarning (or pass --device cpu); there pass --precision fp32: amp, the
default (float16 autocast), runs on CPU with torch 2.9 but gains nothing, and fp16 / pure_fp16
reach a NaN loss within a few steps.

    .tools/train-venv/bin/python infra/train/pathgen_train.py \\
        --model pathgen-tiny --dataset-type webdataset \\
        --train-data '/data/export/shard-{000000..000002}.tar' --train-num-samples 64 \\
        --batch-size 16 --epochs 3 --lr 1e-3 --warmup 2 --workers 1 --device cpu --precision fp32 \\
        --logs /data/train --name run1 --save-frequency 1 --log-every-n-steps 1 --report-to ''

writes /data/train/run1/{out.log, params.txt, checkpoints/epoch_1.pt, ...}. Several processes (one
per GPU; gloo on CPU) run it under torchrun, with `--` so that torchrun leaves open_clip's flags alone
(it would read --logs as its own --logs-specs):

    .tools/train-venv/bin/python -m torch.distributed.run --standalone --nproc-per-node=2 \\
        --max-restarts=0 -- infra/train/pathgen_train.py --model pathgen-tiny ...

Every rank runs this script; only rank 0 logs progress and writes params.txt, out.log and the
checkpoints, and --batch-size is per rank. torchrun starts each rank in a session of its own, so
signalling torchrun's process group reaches the ranks only through torchrun (it forwards SIGTERM
and waits for them); a rank whose torchrun is gone stops through the parent watch (3.).

To continue after a lost process, rerun the same command with `--resume latest`: open_clip then
appends to out.log and starts from the newest checkpoints/*.pt (or from scratch when there is none).
`--resume <file>` with the same --logs/--name is refused while out.log exists ("Experiment already
exists").

Checkpoints (epoch_N.pt, written after epoch N-1 of 0-based epochs finishes) hold
{"epoch": N, "name", "state_dict", "optimizer"} (+ "scaler" under amp); resuming from epoch_N.pt
logs "=> resuming checkpoint '<path>' (epoch N)" and then "Start epoch N".
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

MODEL_CONFIGS = Path(__file__).resolve().parent / "model-configs"
LOG_FORMAT = "%(asctime)s | %(levelname)s | %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d,%H:%M:%S"


def log_error(message: str, with_traceback: bool = False) -> None:
    """An ERROR line in open_clip's format, on stderr and (once open_clip set it up) in out.log.

    A traceback goes first, so the one-line message is always the last line of the log."""
    # open_clip prints its refusals to stdout, block-buffered in a pipe: they must come out first.
    sys.stdout.flush()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt=LOG_DATE_FORMAT))
        root.addHandler(handler)
    if with_traceback:
        root.error("pathgen_train: %s", traceback.format_exc().rstrip())
    root.error(message)


def save_files_atomically(torch) -> None:
    original = torch.save

    def save(obj, f, *args, **kwargs):
        if not isinstance(f, (str, os.PathLike)):
            return original(obj, f, *args, **kwargs)
        path = os.fspath(f)
        partial = path + ".partial"
        original(obj, partial, *args, **kwargs)
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
        # open_clip itself does not say when a checkpoint is written; the train activity syncs on this line.
        logging.info("pathgen_train: saved checkpoint %s", path)

    torch.save = save


def distributed_data_parallel_on_cpu(torch) -> None:
    """Lets open_clip's DistributedDataParallel wrap a CPU model (torchrun with gloo, no GPU).

    open_clip passes `device_ids=[device]` whatever the device, and torch refuses device ids for a
    CPU module; on CPU they mean nothing, so they are dropped there and kept on GPUs."""
    original = torch.nn.parallel.DistributedDataParallel

    class DistributedDataParallel(original):
        def __init__(self, module, device_ids=None, *args, **kwargs):
            if device_ids and all(torch.device(device).type == "cpu" for device in device_ids):
                device_ids = None
            super().__init__(module, device_ids, *args, **kwargs)

    torch.nn.parallel.DistributedDataParallel = DistributedDataParallel


def missing_local_files(argv: list[str]) -> list[str]:
    """Local --train-data / --val-data entries that do not exist.

    open_clip skips a shard it cannot open with a warning and trains on the rest; in pathgen the
    shard list is exact, so a missing one is an error before anything starts."""
    from open_clip_train.data import expand_urls

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--train-data")
    parser.add_argument("--val-data")
    known, _ = parser.parse_known_args(argv)
    missing = []
    for pattern in (known.train_data, known.val_data):
        if not pattern:
            continue
        for url in expand_urls(pattern)[0]:
            remote = "://" in url or url.startswith("pipe:")
            if not remote and not os.path.isfile(url):
                missing.append(url)
    return missing


def quiet_torch_loggers() -> None:
    # open_clip's setup_logging sets every logger to INFO, torch's too, and then torch._dynamo
    # prints its compile statistics at exit: a dozen lines that would bury the final error line.
    for name in list(logging.root.manager.loggerDict):
        if name == "torch" or name.startswith("torch."):
            logging.getLogger(name).setLevel(logging.WARNING)


def run(argv: list[str]) -> int:
    try:
        import open_clip
        import torch
        from open_clip_train.main import main as open_clip_main
    except ImportError as error:
        log_error(f"pathgen_train: cannot import open_clip ({error}); run infra/install-tools.sh --train")
        return 1
    open_clip.add_model_config(MODEL_CONFIGS)
    save_files_atomically(torch)
    distributed_data_parallel_on_cpu(torch)
    missing = missing_local_files(argv)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        log_error(f"pathgen_train: {len(missing)} data file(s) missing: {shown}")
        return 1
    try:
        result = open_clip_main(argv)
    except KeyboardInterrupt:
        log_error("pathgen_train: interrupted")
        return 130
    except SystemExit as exit_:
        if exit_.code in (None, 0):
            return 0
        log_error(f"pathgen_train: open_clip_train exited with status {exit_.code}")
        return exit_.code if isinstance(exit_.code, int) else 1
    except BaseException as error:  # noqa: BLE001 - every failure must reach the log, then exit 1
        log_error(f"pathgen_train: training failed: {type(error).__name__}: {error}", with_traceback=True)
        return 1
    if result not in (None, 0):
        log_error(f"pathgen_train: open_clip_train refused to run (returned {result}; its reason is printed above)")
        return 1
    return 0


def parent_alive(parent_pid: int, first_ppid: int) -> bool:
    # Our own parent changing means it died. Under torchrun the parent is torchrun, so the given
    # process (the train activity's worker) is also checked directly: a SIGKILLed worker leaves
    # torchrun running, and torchrun watches nothing but its ranks.
    if os.getppid() != first_ppid:
        return False
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def stop_when_orphaned(parent_pid: int) -> None:
    """Ends this process (its group, when it leads one) once `parent_pid` is gone."""
    first_ppid = os.getppid()

    def watch() -> None:
        while parent_alive(parent_pid, first_ppid):
            time.sleep(1)
        log_error(f"pathgen_train: parent process {parent_pid} is gone; stopping")
        # A rank under torchrun leads a group of its own too (torchrun starts it in a new session), so
        # its dataloader workers go with it; torchrun then stops the other ranks and exits.
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGTERM)
        else:  # the dataloader workers notice the loss of their parent within seconds
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="pathgen-parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    # An ignored SIGTERM is inherited across exec; training must stop when the activity is cancelled.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.environ.get("PATHGEN_TRAIN_PARENT_PID", "")
    if parent:
        if not parent.isdigit():
            log_error(f"pathgen_train: PATHGEN_TRAIN_PARENT_PID must be a process id, got {parent!r}")
            return 2
        stop_when_orphaned(int(parent))
    status = run(argv)
    quiet_torch_loggers()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
