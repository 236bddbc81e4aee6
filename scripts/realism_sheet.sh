#!/usr/bin/env bash
# The realism sheet of issue 15: 48 samples of configs/hop.yaml and 12 of configs/hop_makehuman.yaml
# at 320 px, one sample per episode (so every sample is a different scene), then
# `hopgen preview --realism` writes docs/realism_sheet.png and benchmarks/results/realism.json.
#   scripts/realism_sheet.sh OUT_DIR [PYTHON]    (MakeHuman: HOPGEN_MAKEHUMAN_DIR or ../shared/assets/makehuman)
set -euo pipefail
out=${1:?usage: scripts/realism_sheet.sh OUT_DIR [PYTHON]}
py=${2:-python}
export HOPGEN_MAKEHUMAN_DIR=${HOPGEN_MAKEHUMAN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/assets/makehuman}
one="--set dataset.frames_per_episode=1 --set dataset.views_per_frame=1"
$py -m hopgen.cli render --config configs/hop_makehuman.yaml --manifest configs/makehuman_manifest.yaml \
    --set dataset.num_samples=12 $one --out "$out/makehuman" --workers 2
$py -m hopgen.cli render --config configs/hop.yaml --set dataset.num_samples=48 $one --out "$out/hop" --workers 2
$py -m hopgen.cli validate "$out/hop"
$py -m hopgen.cli validate "$out/makehuman"
$py -m hopgen.cli preview "$out/hop" "$out/makehuman" --realism --num 48 --tile 320 --levels 16 \
    --out docs/realism_sheet.png --measure benchmarks/results/realism.json
