#!/usr/bin/env python3
"""Prints open_clip's own L2-normalised embeddings of one image file and one text, as JSON.

The reference the export test holds pathgen's TypeScript preprocessing + ONNX encoders to: the image
goes through open_clip's evaluation transform (PIL decode, resize, centre crop, normalise) and the
text through open_clip's tokenizer, both into the PyTorch model loaded from the checkpoint.

usage: open-clip-embed.py MODEL CHECKPOINT IMAGE TEXT
"""

import json
import sys
from pathlib import Path

import open_clip
import torch
from PIL import Image

open_clip.add_model_config(Path(__file__).resolve().parents[3] / "infra" / "train" / "model-configs")
model_name, checkpoint, image_path, text = sys.argv[1:5]
model, _, preprocess = open_clip.create_model_and_transforms(
    model_name, pretrained=checkpoint, precision="fp32", device="cpu"
)
model.eval()
tokenizer = open_clip.get_tokenizer(model_name)
with torch.no_grad():
    pixels = preprocess(Image.open(image_path).convert("RGB")).unsqueeze(0)
    image = model.encode_image(pixels, normalize=True)[0]
    texts = model.encode_text(tokenizer([text]), normalize=True)[0]
print(json.dumps({"image": image.tolist(), "text": texts.tolist()}))
