#!/usr/bin/env python3
"""Table 2 of the paper beside the bundled models' cards (models/*/model.json).

Usage: python3 scripts/model_table.py [REFERENCE_JSON]   (default: docs/paper/reference.json)
"""
import json, os, sys, glob

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ref_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "docs", "paper", "reference.json")
paper = {}
if os.path.exists(ref_path):
    ref = json.load(open(ref_path))["table2_test_accuracy_percent_by_inference_samples"]
    paper = {"elbo": ref.get("BNN (VMG, FashionMNIST)"), "im": ref.get("IM (FashionMNIST)"),
             # the paper's WRNs are WRN-28-10 on CIFAR-10: beside ours for the trend in S_I only
             "wrn0.3": ref.get("WRN-28-10 dropout 0.3 (CIFAR-10)"), "wrn0.6": ref.get("WRN-28-10 dropout 0.6 (CIFAR-10)")}
samples = ["1", "5", "10", "100"]
print("| model | objective | " + " | ".join(f"S_I={s}" for s in samples) + " | paper S_I=1/5/10/100 | mean pred. variance | extreme | training |")
print("|---|---|" + "---|" * len(samples) + "---|---|---|---|")
for card_path in sorted(glob.glob(os.path.join(root, "models", "*", "model.json"))):
    c = json.load(open(card_path))
    ev, tr = c.get("evaluation") or {}, c.get("training") or {}
    acc = ev.get("test_accuracy_percent", {})
    obj = tr.get("objective", "?")
    arch = c.get("architecture", {})
    if arch.get("kind") == "wide-resnet":
        obj = f"WRN-{arch.get('depth')}-{arch.get('widen')}, p={arch.get('dropout')}"
        ref = paper.get(f"wrn{arch.get('dropout')}")
    else:
        ref = paper.get(obj) if not c.get("smoothing") else None  # the paper's Table 2 is for unsmoothed models
    ref_s = "/".join("–" if v is None else f"{v:.2f}" for v in ref) if ref else "–"
    var = ev.get("mean_prediction_variance")
    if c.get("smoothing"):
        obj += f", smoothed σ²={c['smoothing']['variance']:g}"
    print(f"| {c['name']} | {obj} | " + " | ".join(f"{acc[s]:.2f}" if s in acc else "–" for s in samples)
          + f" | {ref_s} | {var:.5f} | {ev.get('extreme_predictions', '–')} | {tr.get('epochs', '?')} epochs, {tr.get('seconds', 0):.0f} s |")
