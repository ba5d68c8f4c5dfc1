#!/usr/bin/env bash
# The repository stands alone: a fresh clone of the committed HEAD, in an empty folder with no
# sibling folders, reproduces in quick mode (evaluations, plots, report with the paper's numbers
# from docs/paper/reference.json) with the already-built binary, refers to nothing outside itself,
# and every "docs/METHOD.md §Name" citation names a section of docs/METHOD.md.
# Needs $SNN (path of the binary) or builds it. Tests what is committed, not the working tree.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh
# the reproduction runs inside the clone: make the binary's path absolute
if [[ $SNN == */* ]]; then SNN=$(realpath "$SNN"); else SNN=$(command -v "$SNN"); fi

root=$(git rev-parse --show-toplevel)
[[ -z $(git status --porcelain --untracked-files=no) ]] || echo "note: uncommitted changes are not part of the clone under test"
iso=$(mktemp -d); trap 'rm -rf "$tmp" "$iso"' EXIT
git clone --quiet "$root" "$iso/snn"
[[ $(ls -A "$iso") == snn ]] && ok "clone of HEAD in an empty folder, no siblings" || bad "the clone's folder has other entries: $(ls -A "$iso")"
clone="$iso/snn"

# nothing refers to a path outside the repository
# (patterns written so that they do not match themselves)
if git -C "$clone" grep -n -e '[.][.]/shared' -e 'S[P]EC' > "$tmp/refs"; then bad "references outside the repository: $(head -5 "$tmp/refs")"
else ok "git grep finds no path outside the repository in the clone"; fi

# every citation of docs/METHOD.md (and README's bare "§Name") names one of its headings
if python3 - "$clone" > "$tmp/cites" <<'PY'
import os, re, subprocess, sys
root = sys.argv[1]
method = open(os.path.join(root, "docs", "METHOD.md")).read()
headings = [m.group(1).strip() for m in re.finditer(r"^#{2,3} (.+)$", method, re.M)]
files = subprocess.run(["git", "-C", root, "grep", "-lI", "§"], capture_output=True, text=True).stdout.split()
bad, count = [], 0
for f in files:
    text = open(os.path.join(root, f), encoding="utf-8").read()
    if f == "docs/METHOD.md":
        cites = [m.start(1) for m in re.finditer(r"\[§(.)", text)]
    elif f == "README.md":
        cites = [m.start() + 1 for m in re.finditer(r"§", text)]
    else:
        cites = [m.end() for m in re.finditer(r"METHOD\.md §", text)]
    for at in cites:
        rest = text[at:at + 80]
        if rest.startswith("Name"):  # README's explanation of the notation
            continue
        count += 1
        if not any(rest.startswith(h) for h in headings):
            bad.append(f"{f}: §{rest.splitlines()[0][:40]}")
print(f"{count} citations; unresolved: {bad}")
sys.exit(1 if bad or count == 0 else 0)
PY
then ok "every citation of a docs/METHOD.md section resolves ($(cut -d';' -f1 "$tmp/cites"))"
else bad "METHOD.md citations: $(cat "$tmp/cites")"; fi

# the quick reproduction runs in the clone with the built binary
out="$clone/out/reproduce"
(cd "$clone" && SNN="$SNN" python3 scripts/reproduce --quick --out "$out") > "$tmp/repro.log" 2>&1
rc=$?
if [[ $rc -eq 0 ]] && grep -q "## The paper's claims against our measurements" "$out/REPORT.md" \
   && ls "$out"/figures/fig05_fgm_accuracy.{png,svg} > /dev/null 2>&1; then ok "reproduce --quick in the clone builds the report and figures"
else bad "reproduce --quick in the clone (exit $rc): $(tail -3 "$tmp/repro.log")"; fi
# the report's paper columns come from the clone's docs/paper/reference.json (Table 2: BNN 83.16 at S_I = 1)
grep -q "83.16" "$out/REPORT.md" 2>/dev/null && ok "report quotes the paper's Table 2 from docs/paper/reference.json" || bad "report lacks the paper's numbers"

echo "standalone: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
