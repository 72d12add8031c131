#!/usr/bin/env python3
"""Export an open_clip checkpoint to a pathgen CLIP model directory (ONNX encoders + tokenizer + config).

pathgen's select stage runs CLIP with onnxruntime from Node; this script is the one place that needs
PyTorch and open_clip. Run it with the training environment's Python (`infra/install-tools.sh
--train` makes .tools/train-venv: torch, open_clip_torch, onnx, which torch's TorchScript exporter
imports, and onnxruntime for the check at the end), then copy the output folder to the GPU workers
or upload it to the object store. It knows pathgen's own architectures (infra/train/model-configs/,
e.g. pathgen-tiny) besides open_clip's built-in names.

    .tools/train-venv/bin/python infra/export-clip-onnx.py --model pathgen-tiny \
        --pretrained /data/train/run1/checkpoints/epoch_3.pt --out models/tiny --name tiny --version 1

The directory it writes (activities/clip/model-directory.ts reads it):

    config.json                   name, version, embedDim, logitScale, contextLength, tokenizer,
                                  preprocess {imageSize, mean, std, resizeMode, interpolation},
                                  imageEncoder / textEncoder {file, input, output}
    image_encoder.onnx            pixel_values float32 [batch, 3, S, S] -> image_embeds float32 [batch, embedDim]
    text_encoder.onnx             input_ids int64 [batch, contextLength] -> text_embeds float32 [batch, embedDim]
    bpe_simple_vocab_16e6.txt.gz  open_clip's BPE vocabulary, copied from the installed package

Embeddings are exported NOT normalised (encode_image / encode_text with normalize=False); pathgen
L2-normalises them in TypeScript, so score = logitScale * cosine as in open_clip's get_logits.

PathGen-CLIP (open_clip ViT-B/16, trained with --force-quick-gelu from OpenAI CLIP weights):

    python infra/export-clip-onnx.py --model ViT-B-16 --pretrained /path/to/pathgenclip.pt \\
        --force-quick-gelu --out models/pathgen-clip --name PathGen-CLIP --version 1

PathGen-CLIP-L (open_clip ViT-L/14 at 336 px; the model PathGen scores candidate patches with):

    python infra/export-clip-onnx.py --model ViT-L-14-336 --pretrained /path/to/pathgen-clip-l.pt \\
        --out models/pathgen-clip-l --name PathGen-CLIP-L --version 1

A checkpoint must be exported with the activation it was trained with: open_clip writes the training
arguments to params.txt (LOGS/NAME/params.txt for LOGS/NAME/checkpoints/epoch_N.pt); add
--force-quick-gelu when it says force_quick_gelu: True (QuickGELU is what OpenAI's CLIP weights use).
A wrong choice would still export, with every embedding drifted, so when that params.txt is there
the export refuses a --model or --force-quick-gelu that differs from it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import sys
import warnings
from pathlib import Path
from typing import NoReturn

MODEL_CONFIGS = Path(__file__).resolve().parent / "train" / "model-configs"
IMAGE_FILE = "image_encoder.onnx"
TEXT_FILE = "text_encoder.onnx"
TOKENIZER_FILE = "bpe_simple_vocab_16e6.txt.gz"
IMAGE_INPUT, IMAGE_OUTPUT = "pixel_values", "image_embeds"
TEXT_INPUT, TEXT_OUTPUT = "input_ids", "text_embeds"
# LayerNormalization is a single ONNX op from opset 17; onnxruntime-node 1.30 runs it natively.
OPSET = 17
SAMPLE_PROMPTS = ["an H&E image of tumor cells", "an H&E image of normal tissue"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="open_clip model name, e.g. ViT-B-16 or ViT-L-14-336")
    parser.add_argument("--pretrained", required=True, help="checkpoint file (epoch_N.pt) or an open_clip pretrained tag")
    parser.add_argument("--out", required=True, type=Path, help="output model directory")
    parser.add_argument("--force-quick-gelu", action="store_true", help="use QuickGELU, as OpenAI-initialised models do")
    parser.add_argument("--name", help="model name in config.json (default: --model)")
    parser.add_argument("--version", default="1", help="model version in config.json; bump it for every new export")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    parser.add_argument("--no-check", action="store_true", help="skip comparing onnxruntime's output with PyTorch's")
    return parser.parse_args(argv)


def check_training_params(args: argparse.Namespace) -> None:
    """Refuse an export whose model or activation differs from the checkpoint's training run.

    open_clip writes params.txt beside checkpoints/ (LOGS/NAME/params.txt for
    LOGS/NAME/checkpoints/epoch_N.pt); a wrong --force-quick-gelu exports without complaint and
    every embedding drifts, so when that file is there it decides."""
    checkpoint = Path(args.pretrained)
    params_file = checkpoint.parent.parent / "params.txt"
    if not checkpoint.is_file() or not params_file.is_file():
        return
    params = {}
    for line in params_file.read_text().splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            params[key] = value
    trained_model = params.get("model")
    if trained_model is not None and trained_model != args.model:
        fail(f"{checkpoint} was trained as --model {trained_model} ({params_file}), not {args.model}")
    trained_quick_gelu = params.get("force_quick_gelu")
    if trained_quick_gelu is not None and (trained_quick_gelu == "True") != args.force_quick_gelu:
        wanted = "with" if trained_quick_gelu == "True" else "without"
        fail(f"{checkpoint} was trained with force_quick_gelu: {trained_quick_gelu} ({params_file}); export it {wanted} --force-quick-gelu")


def fail(message: str) -> NoReturn:
    print(f"export-clip-onnx: {message}", file=sys.stderr)
    sys.exit(1)


def preprocess_config(open_clip, model) -> dict:
    """The evaluation transform's settings, as open_clip stores them on the vision tower."""
    if hasattr(open_clip, "get_model_preprocess_cfg"):
        cfg = dict(open_clip.get_model_preprocess_cfg(model))
    else:  # open_clip < 2.24 keeps size, mean and std as separate attributes
        visual = model.visual
        cfg = {"size": visual.image_size, "mean": visual.image_mean, "std": visual.image_std}
    size = cfg.get("size")
    if isinstance(size, (tuple, list)):
        if len(size) != 2 or size[0] != size[1]:
            fail(f"only square inputs are supported, the model wants {size}")
        size = size[0]
    mean = cfg.get("mean") or open_clip.OPENAI_DATASET_MEAN
    std = cfg.get("std") or open_clip.OPENAI_DATASET_STD
    resize_mode = cfg.get("resize_mode", "shortest")
    interpolation = cfg.get("interpolation", "bicubic")
    if resize_mode not in ("shortest", "squash"):
        fail(f"resize mode {resize_mode!r} is not supported by pathgen's preprocessing (shortest, squash)")
    if interpolation not in ("bicubic", "bilinear"):
        fail(f"interpolation {interpolation!r} is not supported by pathgen's preprocessing (bicubic, bilinear)")
    return {
        "imageSize": int(size),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "resizeMode": resize_mode,
        "interpolation": interpolation,
    }


def context_length_of(open_clip, model) -> int:
    if hasattr(open_clip, "get_model_tokenize_cfg"):
        length = open_clip.get_model_tokenize_cfg(model).get("context_length")
        if length:
            return int(length)
    return int(getattr(model, "context_length", 77))


def export(module, example, path: Path, input_name: str, output_name: str, torch) -> None:
    kwargs = dict(
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        opset_version=OPSET,
        do_constant_folding=True,
    )
    # torch >= 2.9 defaults to the dynamo exporter, which may split weights into side files; the
    # TorchScript exporter writes one self-contained file (under 2 GB even for ViT-L/14-336).
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with warnings.catch_warnings():
        # torch 2.9 announces on every call that the TorchScript exporter is no longer the default.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*legacy TorchScript-based ONNX export")
        torch.onnx.export(module, (example,), str(path), **kwargs)


def check(out: Path, image, text, image_ref, text_ref) -> None:
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: skipping the comparison with PyTorch")
        return
    for file, name, value, reference in (
        (IMAGE_FILE, IMAGE_INPUT, image.numpy(), image_ref),
        (TEXT_FILE, TEXT_INPUT, text.numpy(), text_ref),
    ):
        session = ort.InferenceSession(str(out / file), providers=["CPUExecutionProvider"])
        got = session.run(None, {name: value})[0]
        want = reference.numpy()
        cosine = (got * want).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(want, axis=-1))
        if cosine.min() < 0.9999:
            fail(f"{file} differs from PyTorch (cosine {cosine.min():.6f})")
        print(f"{file}: matches PyTorch (min cosine {cosine.min():.7f})")


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    import open_clip
    import torch

    # pathgen's own architectures (pathgen-tiny, ...), as infra/train/pathgen_train.py registers them.
    open_clip.add_model_config(MODEL_CONFIGS)
    check_training_params(args)

    out: Path = args.out
    if out.exists():
        if not args.overwrite:
            fail(f"{out} exists; pass --overwrite to replace it")
        shutil.rmtree(out)

    model, _, _ = open_clip.create_model_and_transforms(
        args.model,
        pretrained=args.pretrained,
        force_quick_gelu=args.force_quick_gelu,
        precision="fp32",
        device="cpu",
    )
    model.eval()
    # Older open_clip returns the module's tokenize function, newer a SimpleTokenizer: both are the
    # BPE tokenizer pathgen reimplements. Hugging Face or SigLIP tokenizers are not.
    tokenizer = open_clip.get_tokenizer(args.model)
    bpe = isinstance(tokenizer, open_clip.tokenizer.SimpleTokenizer) or tokenizer is open_clip.tokenizer.tokenize
    if not bpe:
        fail(f"{args.model} uses {type(tokenizer).__name__}; pathgen reads only open_clip's BPE tokenizer")
    # nn.MultiheadAttention's inference fast path is a fused kernel the ONNX exporter cannot trace.
    if hasattr(getattr(torch.backends, "mha", None), "set_fastpath_enabled"):
        torch.backends.mha.set_fastpath_enabled(False)

    preprocess = preprocess_config(open_clip, model)
    context_length = context_length_of(open_clip, model)
    size = preprocess["imageSize"]
    image = torch.randn(2, 3, size, size)
    text = open_clip.tokenizer.tokenize(SAMPLE_PROMPTS, context_length=context_length).to(torch.int64)

    class ImageEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, pixel_values):
            return self.model.encode_image(pixel_values, normalize=False)

    class TextEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            return self.model.encode_text(input_ids, normalize=False)

    with torch.no_grad():
        image_ref = ImageEncoder()(image)
        text_ref = TextEncoder()(text)
        logit_scale = float(model.logit_scale.exp().reshape(-1)[0].item())
    embed_dim = int(image_ref.shape[-1])
    if text_ref.shape[-1] != embed_dim:
        fail(f"image embeddings are {embed_dim} wide, text embeddings {text_ref.shape[-1]}")

    out.mkdir(parents=True)
    export(ImageEncoder(), image, out / IMAGE_FILE, IMAGE_INPUT, IMAGE_OUTPUT, torch)
    export(TextEncoder(), text, out / TEXT_FILE, TEXT_INPUT, TEXT_OUTPUT, torch)
    shutil.copyfile(open_clip.tokenizer.default_bpe(), out / TOKENIZER_FILE)

    config = {
        "name": args.name or args.model,
        "version": str(args.version),
        "embedDim": embed_dim,
        "logitScale": logit_scale,
        "contextLength": context_length,
        "tokenizer": TOKENIZER_FILE,
        "preprocess": preprocess,
        "imageEncoder": {"file": IMAGE_FILE, "input": IMAGE_INPUT, "output": IMAGE_OUTPUT},
        "textEncoder": {"file": TEXT_FILE, "input": TEXT_INPUT, "output": TEXT_OUTPUT},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    if not args.no_check:
        check(out, image, text, image_ref, text_ref)
    print(f"wrote {out} (embedDim {embed_dim}, image {size} px, context {context_length}, logit scale {logit_scale:.2f})")


if __name__ == "__main__":
    main(sys.argv[1:])
