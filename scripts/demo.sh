#!/usr/bin/env bash
# The main job on the embedded engine, on real data: train the course's MLP on
# MNIST, evaluate the saved model on the test set, and predict the course's
# photos of handwritten digits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p bin
go build -o bin/tfrun ./cmd/tfrun
out=${OUT:-runs/mnist_mlp}
bin/tfrun train --config configs/mnist_mlp.yaml --out "$out" --set train.epochs="${EPOCHS:-5}"
bin/tfrun eval --model "$out" --data mnist:test --json
photos=()
for f in ../shared/data/course/digit_*.jpg; do [ -e "$f" ] && photos+=(--input "$f"); done
if [ ${#photos[@]} -gt 0 ]; then
  echo "predicting the course's digit photos (dark ink on light paper, hence --invert):"
  bin/tfrun predict --model "$out" --invert "${photos[@]}"
else
  echo "../shared/data/course is absent: skipping the photo predictions" >&2
fi
