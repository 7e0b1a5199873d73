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
    p.add_argument("--model", choices=["mlp", "convnet", "unet", "deeplab"])
    p.add_argument("--classes", type=positive, default=10, help="output classes (1 = one sigmoid channel)")
    p.add_argument("--option", action="append", default=[], metavar="K=V",
                   help="model option as for `tfrun bench --option`, e.g. base=16 (repeatable)")
    p.add_argument("--batch", type=positive)
    p.add_argument("--input", type=parse_input, help="HxWxC, e.g. 28x28x1")
    p.add_argument("--threads", type=positive, default=2)
    p.add_argument("--repeats", type=positive, default=5)
    p.add_argument("--warmup", type=positive, default=2, help="untimed iterations before measuring")
    p.add_argument("--ours", help="JSON from `tfrun bench --json` to compare with")
    p.add_argument("--row", metavar="FILE", help="with --ours: append the comparison as one JSON line to FILE")
    p.add_argument("--label", help="the row's name in --table (default: the model)")
    p.add_argument("--table", metavar="FILE", help="print the table of the rows in FILE and exit")
    p.add_argument("--gemm", type=positive, metavar="N",
                   help="time an N x N float32 GEMM (the machine's ceiling through PyTorch's BLAS) and exit")
    args = p.parse_args(argv)
    if not (args.table or args.gemm) and not (args.model and args.batch and args.input):
        p.error("--model, --batch and --input are required (unless --table or --gemm)")
    if args.row and not args.ours:
        p.error("--row needs --ours")
    args.options = {}
    for kv in args.option:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            p.error(f"--option {kv!r}: want KEY=VALUE")
        args.options[k] = v
    return args


def forward_flops(model, x):
    """Forward FLOPs per sample: 2 x MACs of every convolution and dense
    layer, counted from the shapes of one real forward pass, so that any
    architecture is counted the way `tfrun bench` counts it."""
    import torch
    import torch.nn as nn

    macs = 0

    def hook(layer, inputs, out):
        nonlocal macs
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            macs += out[0].numel() * (layer.in_channels // layer.groups) * kh * kw
        elif isinstance(layer, nn.ConvTranspose2d):
            kh, kw = layer.kernel_size
            macs += inputs[0][0].numel() * (layer.out_channels // layer.groups) * kh * kw
        elif isinstance(layer, nn.Linear):
            macs += out[0].numel() * layer.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        model(x[:1])
    for h in handles:
        h.remove()
    return 2 * macs


class UNet:
    """tfrun's zoo "unet" (the course's U-Net), channels-first: two 3x3
    convolutions per level, 2x2 max-pooling, dropout at the two deepest
    levels, nearest up-sampling then a 2x2 convolution, concatenation
    with the skip, and for one class the course's extra 3x3 convolution to
    2 channels before the 1x1 output."""

    @staticmethod
    def build(c, classes, base, depth, dropout=0.5):
        import torch
        import torch.nn as nn

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding="same"), nn.ReLU(),
                                 nn.Conv2d(cout, cout, 3, padding="same"), nn.ReLU())

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.down = nn.ModuleList()
                cin = c
                for level in range(depth):
                    self.down.append(block(cin, base << level))
                    cin = base << level
                self.bottom = block(cin, base << depth)
                self.drop = nn.Dropout(dropout)
                self.up = nn.ModuleList()
                self.fuse = nn.ModuleList()
                cin = base << depth
                for level in reversed(range(depth)):
                    f = base << level
                    # Keras' "same" for an even kernel pads after, as PyTorch's does.
                    self.up.append(nn.Conv2d(cin, f, 2, padding="same"))
                    self.fuse.append(block(2 * f, f))
                    cin = f
                head = [] if classes > 1 else [nn.Conv2d(base, 2, 3, padding="same"), nn.ReLU()]
                self.head = nn.Sequential(*head, nn.Conv2d(base if classes > 1 else 2, classes, 1))

            def forward(self, x):
                skips = []
                for level, b in enumerate(self.down):
                    x = b(x)
                    if level == depth - 1:
                        x = self.drop(x)
                    skips.append(x)
                    x = nn.functional.max_pool2d(x, 2)
                x = self.drop(self.bottom(x))
                for up, fuse, skip in zip(self.up, self.fuse, reversed(skips)):
                    x = torch.relu(up(nn.functional.interpolate(x, scale_factor=2, mode="nearest")))
                    x = fuse(torch.cat([skip, x], 1))
                return self.head(x)

        return Net()


class DeepLab:
    """tfrun's zoo "deeplab" with the resnet50 backbone (Keras' ResNet50:
    7x7 stem, stride on each stage's first 1x1 convolution, biased
    convolutions), output stride 16 (the last stage dilated), ASPP with
    image pooling, a 1x1 branch and separable atrous branches, and the
    v3plus decoder: 48-channel low-level projection, two separable 3x3
    convolutions, 1x1 classes, bilinear up-sampling to the input."""

    @staticmethod
    def build(c, classes, rates=(6, 12, 18), decoder="v3plus"):
        import torch
        import torch.nn as nn
        F = nn.functional

        def conv_bn(cin, cout, k=1, stride=1, dilation=1, bias=False, relu=True):
            layers = [nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation, bias=bias),
                      nn.BatchNorm2d(cout, momentum=0.01, eps=1e-3)]
            return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)

        def sep_conv_bn(cin, cout, dilation=1):
            return nn.Sequential(
                nn.Conv2d(cin, cin, 3, padding=dilation, dilation=dilation, groups=cin, bias=False),
                nn.BatchNorm2d(cin, momentum=0.01, eps=1e-3), nn.ReLU(), conv_bn(cin, cout))

        class Bottleneck(nn.Module):
            def __init__(self, cin, f, stride, dilation, project):
                super().__init__()
                self.short = conv_bn(cin, 4 * f, 1, stride, bias=True, relu=False) if project else None
                self.body = nn.Sequential(conv_bn(cin, f, 1, stride, bias=True),
                                          conv_bn(f, f, 3, 1, dilation, bias=True),
                                          conv_bn(f, 4 * f, 1, bias=True, relu=False))

            def forward(self, x):
                return torch.relu(self.body(x) + (self.short(x) if self.short is not None else x))

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = conv_bn(c, 64, 7, 2, bias=True)
                stages, cin = [], 64
                for i, (f, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
                    stride, dil = (1, 1) if i == 0 else ((2, 1) if i < 3 else (1, 2))
                    mods = [Bottleneck(cin, f, stride, dil, True)]
                    mods += [Bottleneck(4 * f, f, 1, dil, False) for _ in range(blocks - 1)]
                    stages.append(nn.Sequential(*mods))
                    cin = 4 * f
                self.stages = nn.ModuleList(stages)
                self.pool = conv_bn(2048, 256)
                self.branches = nn.ModuleList([conv_bn(2048, 256)] + [sep_conv_bn(2048, 256, r) for r in rates])
                self.fuse = conv_bn(256 * (2 + len(rates)), 256)
                self.drop = nn.Dropout(0.1)
                self.low = conv_bn(256, 48)
                self.dec = nn.Sequential(sep_conv_bn(304, 256), sep_conv_bn(256, 256))
                self.out = nn.Conv2d(256, classes, 1)

            def forward(self, x):
                size = x.shape[2:]
                x = F.max_pool2d(self.stem(x), 3, 2, padding=1)
                low = None
                for i, st in enumerate(self.stages):
                    x = st(x)
                    if i == 0:
                        low = x
                p = self.pool(F.adaptive_avg_pool2d(x, 1))
                y = [F.interpolate(p, size=x.shape[2:], mode="nearest")] + [b(x) for b in self.branches]
                x = self.drop(self.fuse(torch.cat(y, 1)))
                if decoder == "v3plus":
                    x = F.interpolate(x, size=low.shape[2:], mode="bilinear", align_corners=False)
                    x = self.dec(torch.cat([x, self.low(low)], 1))
                return F.interpolate(self.out(x), size=size, mode="bilinear", align_corners=False)

        return Net()


def build(name, input_shape, classes, options):
    import torch.nn as nn

    h, w, c = input_shape
    if name == "deeplab":
        if options.get("backbone", "resnet50") != "resnet50" or options.get("output_stride", "16") != "16":
            raise SystemExit("torch_peer: deeplab has a PyTorch twin for backbone=resnet50, output_stride=16 only")
        return DeepLab.build(c, classes, decoder=options.get("decoder", "v3plus"))
    if name == "unet":
        depth = int(options.get("depth", 4))
        if h % (1 << depth) or w % (1 << depth):
            raise SystemExit(f"torch_peer: --input {h}x{w}x{c}: must be divisible by 2^depth = {1 << depth}")
        return UNet.build(c, classes, int(options.get("base", 64)), depth, float(options.get("dropout", 0.5)))
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
    model = build(args.model, args.input, args.classes, args.options)
    # PyTorch is channels-first; the input is the same tensor transposed.
    x = torch.rand(args.batch, c, h, w)
    dense = args.model in ("unet", "deeplab")
    label_shape = (args.batch, h, w) if dense else (args.batch,)
    if args.classes == 1:
        # One sigmoid channel: binary cross-entropy on logits, as tfrun.
        y = torch.randint(0, 2, label_shape).float().unsqueeze(1)
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.randint(0, args.classes, label_shape)
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

    fwd = forward_flops(model, x) * args.batch
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
    for key in ("train_gflops", "inference_gflops"):
        if isinstance(ours.get(key), (int, float)):
            out[key] = float(ours[key])
    return out


def comparison(ours, peer):
    lines = [f"{'metric':<15} {'ours ms':>10} {'pytorch ms':>11} {'ours/pytorch':>13}"]
    for key in ("train_step_ms", "inference_ms"):
        o, p = ours[key], peer[key]
        lines.append(f"{key:<15} {o:>10.3f} {p:>11.3f} {o / p:>13.2f}")
    return "\n".join(lines)


def gemm(torch, n, threads, warmup, repeats):
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    ms = median_ms(lambda: torch.mm(a, b), warmup, repeats)
    return {"gemm": f"{n}x{n}x{n} float32 torch.mm", "threads": threads, "ms": round(ms, 3),
            "gflops": round(2 * n ** 3 / (ms * 1e-3) / 1e9, 1)}


def table(path):
    """One line per benchmark row: ours and PyTorch's median times, their
    ratio (below 1: tfrun is faster) and both sides' GFLOP/s."""
    rows = []
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        raise SystemExit(f"torch_peer: --table {path}: {e}")
    head = f"{'model':<28} {'step':<9} {'ours ms':>10} {'torch ms':>10} {'ratio':>6} {'ours GF/s':>10} {'torch GF/s':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        for step, ms, gf in (("train", "train_step_ms", "train_gflops"), ("inference", "inference_ms", "inference_gflops")):
            o, t = r["ours"], r["peer"]
            lines.append(f"{r['label']:<28} {step:<9} {o[ms]:>10.1f} {t[ms]:>10.1f} {o[ms] / t[ms]:>6.2f} "
                         f"{o.get(gf, 0):>10.2f} {t[gf]:>10.2f}")
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    try:
        import torch
    except ImportError as e:
        print(f"torch_peer: PyTorch is not importable with {sys.executable} ({e}); "
              "install it (Debian: apt-get install python3-torch) or run with a Python that has it",
              file=sys.stderr)
        return 3
    if args.gemm:
        print(json.dumps(gemm(torch, args.gemm, args.threads, args.warmup, args.repeats)))
        return 0
    # Read --ours first so that a bad file fails before minutes of timing.
    ours = load_ours(args.ours) if args.ours else None
    peer = measure(args, torch)
    print(json.dumps(peer), flush=True)
    if ours:
        print(comparison(ours, peer))
        if args.row:
            with open(args.row, "a") as f:
                f.write(json.dumps({"label": args.label or args.model, "ours": ours, "peer": peer}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
