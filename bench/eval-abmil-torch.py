"""PyTorch reference for bench/eval.ts's ABMIL figure (run with .tools/train-venv/bin/python).

Usage: python eval-abmil-torch.py JOB.json RESULT.json
JOB.json: {"bags": file of float32 rows (slides × patches × dim), "slides", "patches", "dim", "labels",
"classCount", "hiddenDim", "attentionDim", "order" (the slide order of the epoch), "lr", "weightDecay",
"threads": [1, null]} (null: torch's default thread count). For each thread setting: a fresh model, one
untimed warm-up step, then one epoch timed the way pathgen trains (one slide per AdamW step, cosine
schedule stepped per slide). The model is infra/harness/abmil-torch-reference.py's, loaded from that file.
"""

import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REFERENCE = Path(__file__).resolve().parent.parent / "infra" / "harness" / "abmil-torch-reference.py"


def gated_abmil_class():
    spec = importlib.util.spec_from_file_location("abmil_torch_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GatedAbmil


def one_epoch(job, bags, labels, threads):
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)
    torch.manual_seed(0)
    model = gated_abmil_class()(job["dim"], job["hiddenDim"], job["attentionDim"], job["classCount"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=job["lr"], weight_decay=job["weightDecay"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(job["order"]), eta_min=0)

    def step(index):
        optimizer.zero_grad()
        logits, _ = model(bags[index])
        loss = nn.functional.cross_entropy(logits.unsqueeze(0), labels[index].unsqueeze(0))
        loss.backward()
        optimizer.step()
        return loss.item()

    step(job["order"][0])
    started = time.perf_counter()
    losses = []
    for index in job["order"]:
        losses.append(step(index))
        scheduler.step()
    seconds = time.perf_counter() - started
    used = torch.get_num_threads()
    torch.set_num_threads(default_threads)
    return {"threads": used, "seconds": seconds, "meanLoss": sum(losses) / len(losses)}


def main(job_path, result_path):
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    values = np.fromfile(job["bags"], dtype="<f4").reshape(job["slides"], job["patches"], job["dim"])
    bags = [torch.from_numpy(values[s]) for s in range(job["slides"])]
    labels = [torch.tensor(label) for label in job["labels"]]
    runs = [one_epoch(job, bags, labels, threads) for threads in job["threads"]]
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump({"runs": runs}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
