"""scikit-learn and numpy references for bench/eval.ts (run with .tools/python-ref/bin/python).

Usage: python eval-sklearn.py JOB.json RESULT.json
JOB.json names little-endian binary files the benchmark wrote (float32 rows, int32 labels) and what to
do with them; only the fits and the zero-shot arithmetic are timed (perf_counter), not the start of
Python, the imports or the loading of the data. Zero-shot reports the fastest of `repeats` runs.
"""

import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression


def rows(path, count, dim):
    return np.fromfile(path, dtype="<f4").reshape(count, dim).astype(np.float64)


def logistic(job):
    train = rows(job["train"], job["n"], job["dim"])
    labels = np.fromfile(job["labels"], dtype="<i4")
    test = rows(job["test"], job["nTest"], job["dim"])
    fits = []
    for weight_decay in job["weightDecays"]:
        # Our objective is mean cross-entropy + (λ/2)‖W‖²; sklearn's multinomial one is mean loss +
        # ‖W‖²/(2·C·n), so C = 1/(n·λ) (three or more classes).
        model = LogisticRegression(
            C=1.0 / (job["n"] * weight_decay), solver="lbfgs", tol=job["tolerance"], max_iter=job["maxIterations"]
        )
        started = time.perf_counter()
        model.fit(train, labels)
        seconds = time.perf_counter() - started
        fits.append(
            {
                "weightDecay": weight_decay,
                "seconds": seconds,
                "iterations": int(np.max(model.n_iter_)),
                "probabilities": model.predict_proba(test).ravel().tolist(),
            }
        )
    return fits


def zero_shot(job):
    image = np.fromfile(job["image"], dtype="<f4").reshape(job["n"], job["dim"])
    text = np.fromfile(job["text"], dtype="<f4").reshape(job["classes"], job["dim"])
    timings = []
    for _ in range(job["repeats"]):
        started = time.perf_counter()
        normalised = image / np.linalg.norm(image, axis=1, keepdims=True)
        classes = text / np.linalg.norm(text, axis=1, keepdims=True)
        logits = job["logitScale"] * (normalised @ classes.T)
        timings.append(time.perf_counter() - started)
    return {"seconds": min(timings), "logits": logits.ravel().tolist()}


def main(job_path, result_path):
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    result = {"logistic": logistic(job["logistic"]), "zeroShot": zero_shot(job["zeroShot"])}
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
