#!/usr/bin/env python3
"""PyTorch CPU peer for `tfrun bench`.

Builds the same models as tfrun, times one training step (forward,
cross-entropy, backward, Adam update) and one inference batch, and prints
one JSON line. With --ours it also prints a table comparing tfrun's figures
(the JSON of `tfrun bench --json`) with PyTorch's.

FLOPs are counted analytically so both sides use the same convention:
2 x multiply-accumulates of the convolutions and dense layers, forward only
(biases, activations, pooling and the loss are ignored); a training step is
taken as 3 x forward (forward, gradient w.r.t. inputs, gradient w.r.t.
weights).

Exit status: 0 on success, 2 on bad arguments, 3 when torch is not
importable.
"""

import argparse
import json
import statistics
import sys
import time


def parse_input(text):
    try:
        h, w, c = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--input {text!r}: want HxWxC, e.g. 28x28x1")
    if min(h, w, c) <= 0:
        raise argparse.ArgumentTypeError(f"--input {text!r}: dimensions must be positive")
    return h, w, c


def positive(text):
    v = int(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return v


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=["mlp", "convnet"])
    p.add_argument("--batch", required=True, type=positive)
    p.add_argument("--input", required=True, type=parse_input, help="HxWxC, e.g. 28x28x1")
    p.add_argument("--threads", type=positive, default=2)
    p.add_argument("--repeats", type=positive, default=5)
    p.add_argument("--warmup", type=positive, default=2, help="untimed iterations before measuring")
    p.add_argument("--ours", help="JSON from `tfrun bench --json` to compare with")
    return p.parse_args(argv)


def layer_flops(model, input_shape):
    """Forward FLOPs per sample: 2 x MACs of every Conv2d and Linear layer."""
    import torch.nn as nn

    h, w, c = input_shape
    flops = 0
    for layer in model:
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            # padding="same" with stride 1 keeps the spatial size.
            flops += 2 * h * w * layer.out_channels * c * kh * kw
            c = layer.out_channels
        elif isinstance(layer, nn.MaxPool2d):
            h, w = h // 2, w // 2
        elif isinstance(layer, nn.Linear):
            flops += 2 * layer.in_features * layer.out_features
    return flops


def build(name, input_shape):
    import torch.nn as nn

    h, w, c = input_shape
    if name == "mlp":
        # Softmax lives in the loss (CrossEntropyLoss), as in tfrun.
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(h * w * c, 64), nn.ReLU(),
            nn.Linear(64, 32), nn.ReLU(),
            nn.Linear(32, 10),
        )
    if h < 4 or w < 4:
        raise SystemExit(f"torch_peer: --input {h}x{w}x{c}: the convnet's two 2x2 poolings need at least 4x4")
    layers = []
    for cin, cout in [(c, 32), (32, 32), (32, 32)]:
        layers += [nn.Conv2d(cin, cout, 3, padding="same"), nn.ReLU()]
    layers.append(nn.MaxPool2d(2))
    for cin, cout in [(32, 64), (64, 64), (64, 64)]:
        layers += [nn.Conv2d(cin, cout, 3, padding="same"), nn.ReLU()]
    layers.append(nn.MaxPool2d(2))
    layers += [
        nn.Flatten(),
        nn.Linear(64 * (h // 4) * (w // 4), 1024), nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(1024, 10),
    ]
    return nn.Sequential(*layers)


def median_ms(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def measure(args, torch):
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    h, w, c = args.input
    model = build(args.model, args.input)
    # PyTorch is channels-first; the input is the same tensor transposed.
    x = torch.rand(args.batch, c, h, w)
    y = torch.randint(0, 10, (args.batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model(x)

    model.train()
    train_ms = median_ms(train_step, args.warmup, args.repeats)
    model.eval()
    infer_ms = median_ms(infer, args.warmup, args.repeats)

    fwd = layer_flops(model, args.input) * args.batch
    return {
        "peer": "pytorch",
        "torch_version": torch.__version__,
        "model": args.model,
        "batch": args.batch,
        "input": [h, w, c],
        "threads": torch.get_num_threads(),
        "train_step_ms": round(train_ms, 3),
        "inference_ms": round(infer_ms, 3),
        "train_gflops": round(3 * fwd / (train_ms * 1e-3) / 1e9, 3),
        "inference_gflops": round(fwd / (infer_ms * 1e-3) / 1e9, 3),
    }


def load_ours(path):
    """The train_step_ms and inference_ms of a `tfrun bench --json` file."""
    try:
        with open(path) as f:
            ours = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"torch_peer: --ours {path}: {e}")
    out = {}
    for key in ("train_step_ms", "inference_ms"):
        v = ours.get(key) if isinstance(ours, dict) else None
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise SystemExit(f"torch_peer: --ours {path}: missing or invalid {key!r}")
        out[key] = float(v)
    return out


def comparison(ours, peer):
    lines = [f"{'metric':<15} {'ours ms':>10} {'pytorch ms':>11} {'ours/pytorch':>13}"]
    for key, o in ours.items():
        p = peer[key]
        lines.append(f"{key:<15} {o:>10.3f} {p:>11.3f} {o / p:>13.2f}")
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    try:
        import torch
    except ImportError as e:
        print(f"torch_peer: PyTorch is not importable with {sys.executable} ({e}); "
              "install it (Debian: apt-get install python3-torch) or run with a Python that has it",
              file=sys.stderr)
        return 3
    # Read --ours first so that a bad file fails before minutes of timing.
    ours = load_ours(args.ours) if args.ours else None
    peer = measure(args, torch)
    print(json.dumps(peer), flush=True)
    if ours:
        print(comparison(ours, peer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
