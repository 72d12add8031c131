"""Reference values for test/eval, computed with scikit-learn and numpy.

Usage: python sklearn-reference.py TASKS.json
TASKS.json holds {"tasks": [{"command": NAME, ...inputs}]}; the script prints {"results": [...]} with one
result per task, in order. One process answers a whole test file, so sklearn is imported once.
"""

import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    roc_auc_score,
    roc_curve,
)


def metrics(task):
    y_true = np.asarray(task["labels"])
    y_pred = np.asarray(task["predictions"])
    labels = list(range(task["classCount"]))
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "balancedAccuracy": balanced_accuracy_score(y_true, y_pred),
        "weightedF1": f1_score(y_true, y_pred, average="weighted", zero_division=0),
        "macroF1": f1_score(y_true, y_pred, average="macro", zero_division=0),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def roc(task):
    y_true = np.asarray(task["positives"], dtype=int)
    scores = np.asarray(task["scores"], dtype=float)
    fpr, tpr, _ = roc_curve(y_true, scores, drop_intermediate=task["dropIntermediate"])
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": roc_auc_score(y_true, scores)}


def auroc_ovr(task):
    scores = np.asarray(task["scores"], dtype=float)
    y_true = np.asarray(task["labels"])
    if task["classCount"] == 2:
        return {"auroc": roc_auc_score(y_true, scores[:, 1])}
    labels = list(range(task["classCount"]))
    return {"auroc": roc_auc_score(y_true, scores, multi_class="ovr", average="macro", labels=labels)}


def fit_sklearn(features, labels, weight_decay, class_count):
    # Our objective is mean cross-entropy + (λ/2)‖W‖²; sklearn's is mean loss + ‖w‖²/(2·C·n). Two
    # classes: sklearn's single binomial vector d = w1 − w0 carries the penalty of both softmax rows,
    # (λ/4)‖d‖², hence C doubles.
    n = len(labels)
    c = (2.0 if class_count == 2 else 1.0) / (n * weight_decay)
    model = LogisticRegression(C=c, solver="lbfgs", tol=1e-12, max_iter=100000)
    model.fit(features, labels)
    return model


def logistic(task):
    features = np.asarray(task["features"], dtype=float)
    model = fit_sklearn(features, np.asarray(task["labels"]), task["weightDecay"], task["classCount"])
    test = np.asarray(task["test"], dtype=float)
    return {
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "probabilities": model.predict_proba(test).tolist(),
    }


def zero_shot(task):
    image = np.asarray(task["image"], dtype=float)
    image = image / np.linalg.norm(image, axis=1, keepdims=True)
    classes = []
    for templates in task["text"]:
        templates = np.asarray(templates, dtype=float)
        templates = templates / np.linalg.norm(templates, axis=1, keepdims=True)
        embedding = templates.mean(axis=0) if task["ensemble"] else templates[0]
        classes.append(embedding / np.linalg.norm(embedding))
    logits = task["logitScale"] * image @ np.stack(classes).T
    return {"logits": logits.tolist(), "predictions": logits.argmax(axis=1).tolist()}


def linear_probe(task):
    """CLIP_benchmark's search shape with sklearn fits, on the split indices the test passes in."""
    features = np.asarray(task["train"], dtype=float)
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    labels = np.asarray(task["trainLabels"])
    test = np.asarray(task["test"], dtype=float)
    test = test / np.linalg.norm(test, axis=1, keepdims=True)
    test_labels = np.asarray(task["testLabels"])
    grid = task["grid"]
    class_count = task["classCount"]
    results = []
    for split in task["splits"]:
        train, validation, final = (np.asarray(split[key], dtype=int) for key in ("train", "validation", "final"))
        scores = {}

        def score(index):
            if index not in scores:
                model = fit_sklearn(features[train], labels[train], grid[index], class_count)
                probabilities = model.predict_proba(features[validation])
                full = np.zeros((len(validation), class_count))
                full[:, model.classes_] = probabilities
                accuracy = float(np.mean(full.argmax(axis=1) == labels[validation]))
                loss = log_loss(labels[validation], full, labels=list(range(class_count)))
                scores[index] = (accuracy, loss)
            return scores[index]

        def better(a, b):
            return a[0] > b[0] or (a[0] == b[0] and a[1] < b[1])

        length = len(grid)
        coarse = sorted({int(np.floor(i * (length - 1) / 6 + 0.5)) for i in range(7)})  # JS Math.round
        peak = coarse[0]
        for index in coarse[1:]:
            if better(score(index), score(peak)):
                peak = index
        span = (length - 1) // 12
        while span > 0:
            centre = peak
            for index in (centre - span, centre + span):
                if 0 <= index < length and better(score(index), score(peak)):
                    peak = index
            span //= 2
        model = fit_sklearn(features[final], labels[final], grid[peak], class_count)
        predictions = model.predict(test)
        results.append(
            {
                "weightDecay": grid[peak],
                "accuracy": accuracy_score(test_labels, predictions),
                "balancedAccuracy": balanced_accuracy_score(test_labels, predictions),
                "weightedF1": f1_score(test_labels, predictions, average="weighted", zero_division=0),
            }
        )
    return {"seeds": results}


COMMANDS = {
    "metrics": metrics,
    "roc": roc,
    "auroc-ovr": auroc_ovr,
    "logistic": logistic,
    "zero-shot": zero_shot,
    "linear-probe": linear_probe,
}


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        tasks = json.load(handle)["tasks"]
    results = [COMMANDS[task["command"]](task) for task in tasks]
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
