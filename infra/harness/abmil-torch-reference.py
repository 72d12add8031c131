"""PyTorch reference for pathgen's TypeScript ABMIL (test/eval/abmil-torch.test.ts).

Reads a JSON case (initial weights as pathgen's abmilToJson writes them, bags, labels, slide order per
epoch, lr, weight decay), builds the same gated-attention ABMIL from torch modules, trains it with
torch.optim.AdamW and CosineAnnealingLR stepped per slide, and writes what the test compares.

Usage: python torch-reference.py case.json result.json
"""

import base64
import json
import sys

import numpy as np
import torch
from torch import nn


class GatedAbmil(nn.Module):
    def __init__(self, input_dim, hidden_dim, attention_dim, class_count):
        super().__init__()
        self.fc = nn.Linear(input_dim, hidden_dim)
        self.attentionV = nn.Linear(hidden_dim, attention_dim)
        self.attentionU = nn.Linear(hidden_dim, attention_dim)
        self.attentionW = nn.Linear(attention_dim, 1, bias=False)
        self.classifier = nn.Linear(hidden_dim, class_count)

    def forward(self, features):
        hidden = torch.relu(self.fc(features))
        gated = torch.tanh(self.attentionV(hidden)) * torch.sigmoid(self.attentionU(hidden))
        attention = torch.softmax(self.attentionW(gated).squeeze(-1), dim=0)
        return self.classifier(attention @ hidden), attention


def tensor_from(entry):
    values = np.frombuffer(base64.b64decode(entry["float32Base64"]), dtype="<f4").reshape(entry["shape"])
    return torch.from_numpy(values.copy())


def main(case_path, result_path):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with open(case_path) as handle:
        case = json.load(handle)
    config = case["model"]["config"]
    model = GatedAbmil(config["inputDim"], config["hiddenDim"], config["attentionDim"], config["classCount"])
    model.load_state_dict({entry["name"]: tensor_from(entry) for entry in case["model"]["tensors"]}, strict=True)
    bags = [torch.tensor(bag, dtype=torch.float32).reshape(-1, config["inputDim"]) for bag in case["bags"]]
    labels = [torch.tensor(label) for label in case["labels"]]

    def predictions():
        with torch.no_grad():
            outputs = [model(bag) for bag in bags]
        return [o[0].tolist() for o in outputs], [o[1].tolist() for o in outputs]

    initial_logits, _ = predictions()
    optimizer = torch.optim.AdamW(model.parameters(), lr=case["lr"], weight_decay=case["weightDecay"])
    total_steps = sum(len(order) for order in case["orders"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0)
    epoch_losses = []
    for order in case["orders"]:
        losses = []
        for index in order:
            optimizer.zero_grad()
            logits, _ = model(bags[index])
            loss = nn.functional.cross_entropy(logits.unsqueeze(0), labels[index].unsqueeze(0))
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        epoch_losses.append(sum(losses) / len(losses))

    logits, attention = predictions()
    result = {
        "initialLogits": initial_logits,
        "epochLosses": epoch_losses,
        "logits": logits,
        "attention": attention,
        "parameters": {name: value.detach().flatten().tolist() for name, value in model.state_dict().items()},
    }
    with open(result_path, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
