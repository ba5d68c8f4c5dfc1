#!/usr/bin/env python3
"""Measures and ranks the set-ups of the pre-registered MLP study (docs/MLP-STUDY.md).

    python3 scripts/mlp_study.py STUDY_DIR [--snn PATH] [--images 1000] [--threads 2]

STUDY_DIR holds <set-up>-<seed>/{vmg,im}/ as scripts/mlp-study.sh trains them. For each trained model it
runs `snn evaluate` once (FGM, η = 1.5, S_A = 1, 10, 100, 1000, S_I = 100, seed 0, first N test images;
the summary is kept beside the model as study.summary.json and reused), reads the model card's test
accuracies, extreme count and prediction variance, computes the stated distance to the paper and
prints a Markdown table (every set-up, every model) and the ranking. The paper's numbers come from
docs/paper/reference.json when present (else the copy below, from the paper's Tables 1 and 2)."""
import argparse, json, math, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
# The paper's printed numbers (Däubener & Fischer, Table 2, Table 1 at η = 1.5, section 4.4).
PAPER = {
    "vmg": {"acc": {1: 83.16, 5: 84.92, 100: 85.2}, "extreme": 397,
            "length": {1: 1.273, 10: 1.317, 100: 1.315, 1000: 1.31}},
    "im": {"acc": {1: 79.22, 5: 84.42, 10: 85.18, 100: 85.79}, "extreme": 2187,
           "length": {10: 1.208, 1000: 1.295}},
}
ATTACK_SAMPLES = [1, 10, 100, 1000]


def evaluate(snn, model_dir, images, threads):
    out = os.path.join(model_dir, "study.summary.json")
    if os.path.exists(out):
        with open(out) as f:
            summary = json.load(f)
        if summary.get("images") == images:
            return summary
    labels = os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")
    with open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), "rb") as stdin:
        cmd = [snn, "evaluate", "--model", model_dir, "--labels", labels, "--limit", str(images), "--eta", "1.5",
               "--attack-samples", ",".join(map(str, ATTACK_SAMPLES)), "--inference-samples", "100", "--no-fresh",
               "--threads", str(threads), "--summary", out]
        r = subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{model_dir}: snn evaluate failed: {r.stderr.strip()[-400:]}")
    with open(out) as f:
        return json.load(f)


def measure(snn, model_dir, images, threads):
    with open(os.path.join(model_dir, "model.json")) as f:
        card = json.load(f)
    ev = card["evaluation"]
    summary = evaluate(snn, model_dir, images, threads)
    by_sa = {c["attack_samples"]: c for c in summary["configurations"]}
    return {
        "acc": {int(k): v for k, v in ev["test_accuracy_percent"].items()},
        "extreme": ev["extreme_predictions"],
        "variance": ev["mean_prediction_variance"],
        "length": {s: by_sa[s]["delta_norm"]["mean"] for s in ATTACK_SAMPLES},
        "adv": {s: 100 * by_sa[s]["adversarial_accuracy"]["rate"] for s in (10, 100)},
    }


def distance(kind, m):
    """The pre-registered distance of one model to the paper (docs/MLP-STUDY.md, Criterion)."""
    p = PAPER[kind]
    acc = sum(abs(m["acc"][s] - v) for s, v in p["acc"].items()) / len(p["acc"]) / 1.5
    sat = abs(math.log10((m["extreme"] + 1) / (p["extreme"] + 1)))
    length = sum(abs(m["length"][s] - v) for s, v in p["length"].items()) / len(p["length"]) / 0.05
    return acc, sat, length


def cards_only(study):
    print("| set-up | model | acc S_I=1/5/10/100 (%) | extreme /10k | mean pred. var. | d_acc | d_sat |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    for setup in sorted(os.listdir(study)):
        d = os.path.join(study, setup)
        if not all(os.path.exists(os.path.join(d, k, "model.json")) for k in ("vmg", "im")):
            continue
        totals[setup] = 0.0
        for kind in ("vmg", "im"):
            with open(os.path.join(d, kind, "model.json")) as f:
                ev = json.load(f)["evaluation"]
            acc = {int(k): v for k, v in ev["test_accuracy_percent"].items()}
            p = PAPER[kind]
            d_acc = sum(abs(acc[s] - v) for s, v in p["acc"].items()) / len(p["acc"]) / 1.5
            d_sat = abs(math.log10((ev["extreme_predictions"] + 1) / (p["extreme"] + 1)))
            totals[setup] += d_acc + d_sat
            accs = " / ".join("%.2f" % acc[s] for s in (1, 5, 10, 100))
            print(f"| {setup} | {kind} | {accs} | {ev['extreme_predictions']} | {ev['mean_prediction_variance']:.4f} | {d_acc:.2f} | {d_sat:.2f} |")
    print()
    for setup, total in sorted(totals.items(), key=lambda kv: kv[1]):
        print(f"- {setup}: accuracy + saturation terms {total:.2f} (attack-length term not yet measured)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study")
    ap.add_argument("--snn", default=os.environ.get("SNN", os.path.join(ROOT, ".build/release/snn")))
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cards-only", action="store_true",
                    help="no evaluation: the card terms only (accuracy, saturation), for a study whose attack lengths are not measured yet")
    a = ap.parse_args()
    if a.cards_only:
        return cards_only(a.study)
    rows, totals = [], {}
    for setup in sorted(os.listdir(a.study)):
        d = os.path.join(a.study, setup)
        if not all(os.path.exists(os.path.join(d, k, "model.json")) for k in ("vmg", "im")):
            continue
        total = 0.0
        for kind in ("vmg", "im"):
            m = measure(a.snn, os.path.join(d, kind), a.images, a.threads)
            acc, sat, length = distance(kind, m)
            total += acc + sat + length
            rows.append((setup, kind, m, acc, sat, length))
        totals[setup] = total
    print("| set-up | model | acc S_I=1/5/10/100 (%) | extreme /10k | mean pred. var. | ‖δ‖ S_A=1/10/100/1000 | adv. acc. S_A=10/100 (%) | d_acc | d_sat | d_len |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for setup, kind, m, acc, sat, length in rows:
        accs = " / ".join("%.2f" % m["acc"][s] for s in (1, 5, 10, 100))
        lens = " / ".join("%.3f" % m["length"][s] for s in ATTACK_SAMPLES)
        print(f"| {setup} | {kind} | {accs} | {m['extreme']} | {m['variance']:.4f} | {lens} | "
              f"{m['adv'][10]:.1f} / {m['adv'][100]:.1f} | {acc:.2f} | {sat:.2f} | {length:.2f} |")
    print()
    for setup, total in sorted(totals.items(), key=lambda kv: kv[1]):
        print(f"- {setup}: distance {total:.2f}")


if __name__ == "__main__":
    main()
