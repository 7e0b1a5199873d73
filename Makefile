# Conveniences; the README's two commands need no make.
.PHONY: build test demo bench-peer accept

# Debian's python3-torch lives in the system Python, not in a pyenv one.
PYTHON ?= /usr/bin/python3

build:
	go build -o bin/tfrun ./cmd/tfrun

test:
	scripts/test.sh

demo:
	scripts/demo.sh

# Our figures and PyTorch's, side by side, for the course's conv net and MLP.
bench-peer: build
	@for spec in "convnet 128 28x28x1" "mlp 128 28x28x1"; do \
	  set -- $$spec; \
	  bin/tfrun bench --model $$1 --batch $$2 --input $$3 --json > /tmp/tfrun-bench-$$1.json && \
	  $(PYTHON) scripts/bench/torch_peer.py --model $$1 --batch $$2 --input $$3 --threads 2 --ours /tmp/tfrun-bench-$$1.json; \
	done

# The issue's acceptance runs: full MNIST training of both course models (long).
accept: build
	bin/tfrun train --config configs/mnist_mlp.yaml --out runs/accept_mlp
	bin/tfrun train --config configs/mnist_convnet.yaml --out runs/accept_convnet
