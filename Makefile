# Conveniences; the README's two commands need no make.
.PHONY: build test demo bench-peer bench-sheet accept

# Debian's python3-torch lives in the system Python, not in a pyenv one.
PYTHON ?= /usr/bin/python3

build:
	go build -o bin/tfrun ./cmd/tfrun

test:
	scripts/test.sh

demo:
	scripts/demo.sh

# Our figures and PyTorch's, side by side, for the course's conv net and MLP.
# Issue 3's table: each row runs tfrun bench and the PyTorch peer back to
# back on the same shapes, then one table prints ratios and GFLOP/s, under
# the machine's GEMM ceiling. BENCH_ROWS can be narrowed, e.g. BENCH_ROWS='"convnet convnet 128 28x28x1 10"'.
BENCH_ROWS = \
  "convnet convnet 128 28x28x1 10" \
  "unet-16 unet 4 256x256x3 1 base=16" \
  "unet-64 unet 4 256x256x3 1 base=64" \
  "deeplabv3plus-resnet50 deeplab 4 256x256x3 2 backbone=resnet50"
bench-peer: build
	@rm -f /tmp/tfrun-bench-rows.jsonl
	@for spec in $(BENCH_ROWS); do \
	  set -- $$spec; label=$$1 model=$$2 batch=$$3 input=$$4 classes=$$5; shift 5; \
	  opts=""; for o in "$$@"; do opts="$$opts --option $$o"; done; \
	  echo "== $$label" >&2; \
	  bin/tfrun bench --model $$model --batch $$batch --input $$input --classes $$classes $$opts --json > /tmp/tfrun-bench-$$label.json || exit 1; \
	  $(PYTHON) scripts/bench/torch_peer.py --model $$model --batch $$batch --input $$input --classes $$classes $$opts \
	    --threads 2 --ours /tmp/tfrun-bench-$$label.json --row /tmp/tfrun-bench-rows.jsonl --label $$label >/dev/null || exit 1; \
	done
	@$(PYTHON) scripts/bench/torch_peer.py --table /tmp/tfrun-bench-rows.jsonl
	@printf 'ceiling: '; $(PYTHON) scripts/bench/torch_peer.py --gemm 4096 --repeats 3 --warmup 1

# Issue 7's map-sheet benchmark (about half an hour on 2 cores): a synthetic
# 20000×20000 sheet in /tmp/tfrun-bench-sheet mapped by a small U-Net;
# prints peak RSS and end-to-end vs model-only throughput (also bench.json).
bench-sheet:
	TFRUN_BENCH_SHEET=1 go test ./cmd/tfrun -run TestBenchSheet -v -timeout 3h

# The issue's acceptance runs: full MNIST training of both course models (long).
accept: build
	bin/tfrun train --config configs/mnist_mlp.yaml --out runs/accept_mlp
	bin/tfrun train --config configs/mnist_convnet.yaml --out runs/accept_convnet
