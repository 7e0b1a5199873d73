#!/usr/bin/env python3
"""An independent reference for tfrun's Keras import: reads Keras 2.x models
(.h5 through h5py, SavedModel folders through its own readers of
keras_metadata.pb and the variables bundle) and computes their forward pass
in float64 with numpy and PyTorch, following TensorFlow's definitions of
each layer. It shares no code with tfrun; tfrun's Go tests compare against it.

  keras_reference.py predict MODEL X.npy OUT.npy [--scale S] [--logits L.npy] [--layers DIR]
  keras_reference.py mnist MODEL MNIST_DIR [--scale S]       prints {"accuracy", "n"}
  keras_reference.py synthetic OUT.h5 [--seed N] [--kind cnn|nested] [--probe LAYER ...]

--layers writes every layer's output as DIR/LAYER.npy; --probe also writes
OUT-LAYER.h5, the same model with LAYER as its output, to compare inside it.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(False)


# ---------------------------------------------------------------- readers

def varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return result, i


def proto_fields(b):
    """Yields (field number, wire type, value) of a protobuf message."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


def sstable(path):
    """Reads every key and value of a LevelDB table without compression, as
    TensorFlow writes variables.index."""
    data = open(path, "rb").read()
    footer = data[-48:]
    if struct.unpack("<Q", footer[-8:])[0] != 0xDB4775248B80FB57:
        raise ValueError(path + ": not a table")
    _, j = varint(footer, 0)
    _, j = varint(footer, j)
    index_off, j = varint(footer, j)
    index_size, j = varint(footer, j)

    def block(off, size):
        if data[off + size] != 0:
            raise ValueError(path + ": compressed block")
        raw = data[off:off + size]
        restarts = struct.unpack("<I", raw[-4:])[0]
        end = len(raw) - 4 - 4 * restarts
        i, key = 0, b""
        while i < end:
            shared, i = varint(raw, i)
            unshared, i = varint(raw, i)
            vlen, i = varint(raw, i)
            key = key[:shared] + raw[i:i + unshared]
            i += unshared
            yield key, raw[i:i + vlen]
            i += vlen

    for _, handle in block(index_off, index_size):
        off, j = varint(handle, 0)
        size, _ = varint(handle, j)
        yield from block(off, size)


def read_bundle(prefix):
    """Reads the float32 tensors of a TensorFlow checkpoint bundle."""
    entries = dict(sstable(prefix + ".index"))
    shards = 1
    for num, _, v in proto_fields(entries.pop(b"")):
        if num == 1:
            shards = v
    files = {}
    out = {}
    for key, value in entries.items():
        dtype, shape, shard, offset, size = 0, [], 0, 0, 0
        for num, _, v in proto_fields(value):
            if num == 1:
                dtype = v
            elif num == 2:
                for dnum, _, dim in proto_fields(v):
                    if dnum == 2:
                        shape.append(dict((n, x) for n, _, x in proto_fields(dim)).get(1, 0))
            elif num == 3:
                shard = v
            elif num == 4:
                offset = v
            elif num == 5:
                size = v
        if dtype != 1:  # DT_FLOAT
            continue
        if shard not in files:
            files[shard] = open("%s.data-%05d-of-%05d" % (prefix, shard, shards), "rb").read()
        raw = files[shard][offset:offset + size]
        out[key.decode()] = np.frombuffer(raw, "<f4").reshape(shape).astype(np.float64)
    return out


def untuple(v):
    if isinstance(v, dict):
        if v.get("class_name") in ("__tuple__", "TensorShape") and set(v) == {"class_name", "items"}:
            return untuple(v["items"])
        return {k: untuple(x) for k, x in v.items()}
    if isinstance(v, list):
        return [untuple(x) for x in v]
    return v


WEIGHTS = {
    "Dense": ["kernel", "bias"],
    "Conv2D": ["kernel", "bias"],
    "Conv2DTranspose": ["kernel", "bias"],
    "DepthwiseConv2D": ["depthwise_kernel", "bias"],
    "SeparableConv2D": ["depthwise_kernel", "pointwise_kernel", "bias"],
    "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"],
}


def has_weights(layer):
    cfg = layer["config"]
    if "layers" in cfg:
        return any(has_weights(sub) for sub in cfg["layers"])
    return layer["class_name"] in WEIGHTS


def savedmodel_weights(config, bundle, prefix, weights):
    """Finds each layer's variables under the checkpoint keys Keras' object
    tracking gives them: layer_with_weights-N counts the layers that own
    weights, in config order (an InputLayer never does)."""
    n = 0
    for layer in config["layers"]:
        if not has_weights(layer):
            continue
        path = "%slayer_with_weights-%d/" % (prefix, n)
        n += 1
        if "layers" in layer["config"]:
            savedmodel_weights(layer["config"], bundle, path, weights)
            continue
        found = {}
        for w in WEIGHTS[layer["class_name"]]:
            key = path + w + "/.ATTRIBUTES/VARIABLE_VALUE"
            if key in bundle:
                found[w] = bundle[key]
        weights[layer["config"]["name"]] = found


def load_savedmodel(path):
    meta = open(os.path.join(path, "keras_metadata.pb"), "rb").read()
    root = None
    for num, _, node in proto_fields(meta):
        if num != 1:
            continue
        fields = {n: v for n, _, v in proto_fields(node)}
        if fields.get(3) == b"root":
            root = json.loads(fields[5])
    model = untuple({"class_name": root["class_name"], "config": root["config"]})
    bundle = read_bundle(os.path.join(path, "variables", "variables"))
    weights = {}
    savedmodel_weights(model["config"], bundle, "", weights)
    return model, weights


def load_h5(path):
    import h5py
    f = h5py.File(path, "r")
    cfg = f.attrs["model_config"]
    model = untuple(json.loads(cfg.decode() if isinstance(cfg, bytes) else cfg))
    weights = {}
    mw = f["model_weights"]
    for name in mw.attrs["layer_names"]:
        name = name.decode()
        g = mw[name]
        for wn in g.attrs["weight_names"]:
            wn = wn.decode()
            parts = wn.split("/")
            layer, short = parts[-2], parts[-1].split(":")[0]
            weights.setdefault(layer, {})[short] = g[wn][()].astype(np.float64)
    return model, weights


def load(path):
    if os.path.isdir(path):
        return load_savedmodel(path)
    return load_h5(path)


# ---------------------------------------------------------------- layers

def tf_same(n, k, s, d=1):
    """TensorFlow's "same" padding of one axis: (before, after)."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def pair(v, default=None):
    if v is None:
        return default
    if isinstance(v, (int, float)):
        return int(v), int(v)
    return int(v[0]), int(v[1])


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.numpy().transpose(0, 2, 3, 1)


def pad_same(t, k, s, d, padding, value=0.0):
    if padding != "same":
        return t
    top, bottom = tf_same(t.shape[2], k[0], s[0], d[0])
    left, right = tf_same(t.shape[3], k[1], s[1], d[1])
    return F.pad(t, (left, right, top, bottom), value=value)


def activate(name, x):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError("activation " + name)


def conv(x, kernel, cfg, groups=1):
    k = kernel.shape[:2]
    s = pair(cfg.get("strides"), (1, 1))
    d = pair(cfg.get("dilation_rate"), (1, 1))
    t = pad_same(nchw(x), k, s, d, cfg.get("padding", "valid"))
    w = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    return nhwc(F.conv2d(t, w, stride=s, dilation=d, groups=groups))


def depthwise(x, kernel, cfg):
    kh, kw, c, m = kernel.shape
    # A convolution in c groups whose output channel c·m + j is input
    # channel c with kernel[:, :, c, j].
    return conv(x, kernel.reshape(kh, kw, 1, c * m), cfg, groups=c)


def conv_transpose(x, kernel, cfg):
    kh, kw, _, _ = kernel.shape
    s = pair(cfg.get("strides"), (1, 1))
    w = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    full = F.conv_transpose2d(nchw(x), w, stride=s)
    # TensorFlow's output size, and the offset its forward "same"
    # convolution would pad by.
    out = []
    for axis, (n, k, st) in enumerate([(x.shape[1], kh, s[0]), (x.shape[2], kw, s[1])]):
        size = n * st if cfg.get("padding") == "same" else n * st + max(k - st, 0)
        before = max((n - 1) * st + k - size, 0) // 2
        out.append((size, before))
    (oh, top), (ow, left) = out
    full = F.pad(full, (0, max(0, left + ow - full.shape[3]), 0, max(0, top + oh - full.shape[2])))
    return nhwc(full[:, :, top:top + oh, left:left + ow])


def pool(x, cfg, kind):
    k = pair(cfg.get("pool_size"), (2, 2))
    s = pair(cfg.get("strides"), k)
    padding = cfg.get("padding", "valid")
    t = nchw(x)
    if kind == "max":
        return nhwc(F.max_pool2d(pad_same(t, k, s, (1, 1), padding, float("-inf")), k, s))
    # TensorFlow averages over the pixels inside the image only.
    total = F.avg_pool2d(pad_same(t, k, s, (1, 1), padding), k, s) * (k[0] * k[1])
    count = F.avg_pool2d(pad_same(torch.ones_like(t[:, :1]), k, s, (1, 1), padding), k, s) * (k[0] * k[1])
    return nhwc(total / count)


def resize_bilinear(x, h, w):
    # PyTorch's align_corners=False is TensorFlow's half_pixel_centers=True,
    # which tf.image.resize (and so Keras) uses.
    return nhwc(F.interpolate(nchw(x), size=(h, w), mode="bilinear", align_corners=False))


def keras_relu(x, alpha, max_value, threshold):
    """Keras' backend.relu, term by term."""
    negative = np.maximum(-x + threshold, 0) if alpha != 0 else 0
    y = x * (x > threshold) if threshold != 0 else np.maximum(x, 0)
    if max_value is not None:
        y = np.clip(y, 0, max_value)
    return y - alpha * negative


def apply(layer, inputs, weights, init=None):
    """One layer's output; init, when given, first makes its weights."""
    if init:
        init(layer, inputs[0])
    cls, cfg = layer["class_name"], layer["config"]
    w = weights.get(cfg["name"], {})
    x = inputs[0]
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise ValueError("channels_first")
    if cls == "Dense":
        y = x @ w["kernel"]
        if cfg.get("use_bias", True):
            y = y + w["bias"]
        return activate(cfg.get("activation"), y)
    if cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
        if cls == "Conv2D":
            y = conv(x, w["kernel"], cfg)
        else:
            y = depthwise(x, w["depthwise_kernel"], cfg)
            if cls == "SeparableConv2D":
                y = y @ w["pointwise_kernel"][0, 0]
        if cfg.get("use_bias", True):
            y = y + w["bias"]
        return activate(cfg.get("activation"), y)
    if cls == "Conv2DTranspose":
        y = conv_transpose(x, w["kernel"], cfg)
        if cfg.get("use_bias", True):
            y = y + w["bias"]
        return activate(cfg.get("activation"), y)
    if cls == "BatchNormalization":
        eps = cfg.get("epsilon", 1e-3)
        if x.ndim == 4:
            eps = max(eps, 1.001e-5)  # Keras' fused kernel raises smaller ones
        c = x.shape[-1]
        gamma = w.get("gamma", np.ones(c)) if cfg.get("scale", True) else np.ones(c)
        beta = w.get("beta", np.zeros(c)) if cfg.get("center", True) else np.zeros(c)
        return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + eps) * gamma + beta
    if cls == "Activation":
        return activate(cfg["activation"], x)
    if cls == "ReLU":
        return keras_relu(x, cfg.get("negative_slope", 0), cfg.get("max_value"), cfg.get("threshold", 0))
    if cls == "LeakyReLU":
        return keras_relu(x, cfg.get("alpha", 0.3), None, 0)
    if cls == "Softmax":
        return activate("softmax", x)
    if cls == "MaxPooling2D":
        return pool(x, cfg, "max")
    if cls == "AveragePooling2D":
        return pool(x, cfg, "avg")
    if cls == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2), keepdims=bool(cfg.get("keepdims", False)))
    if cls == "UpSampling2D":
        sh, sw = pair(cfg.get("size"), (2, 2))
        if cfg.get("interpolation", "nearest") == "bilinear":
            return resize_bilinear(x, x.shape[1] * sh, x.shape[2] * sw)
        return x.repeat(sh, axis=1).repeat(sw, axis=2)
    if cls == "ZeroPadding2D":
        p = cfg["padding"]
        if isinstance(p, int):
            p = [[p, p], [p, p]]
        elif isinstance(p[0], int):
            p = [[p[0], p[0]], [p[1], p[1]]]
        return np.pad(x, [(0, 0), tuple(p[0]), tuple(p[1]), (0, 0)])
    if cls in ("Dropout", "InputLayer"):
        return x
    if cls == "Flatten":
        return x.reshape(x.shape[0], -1)
    if cls == "Reshape":
        return x.reshape((x.shape[0],) + tuple(cfg["target_shape"]))
    if cls == "Concatenate":
        return np.concatenate(inputs, axis=cfg.get("axis", -1))
    if cls == "Add":
        return sum(inputs)
    if cls == "Resizing":
        if x.shape[1:3] == (cfg["height"], cfg["width"]):
            return x
        return resize_bilinear(x, cfg["height"], cfg["width"])
    if cls == "Rescaling":
        return x * cfg["scale"] + cfg.get("offset", 0)
    raise ValueError("no reference for layer class " + cls)


def run(model, x, weights, init=None, trace=None):
    """The forward pass of a Sequential or functional model config; trace,
    when given, collects each layer's output by name."""
    cfg = model["config"]
    layers = cfg["layers"]

    def call(layer, ins):
        if "layers" in layer["config"]:
            y = run(layer, ins[0], weights, init, trace)
        else:
            y = apply(layer, ins, weights, init)
        if trace is not None:
            trace.setdefault(layer["config"]["name"], y)
        return y

    if "input_layers" not in cfg:
        for layer in layers:
            x = call(layer, [x])
        return x
    values = {}
    inputs = cfg["input_layers"]
    if isinstance(inputs[0], str):
        inputs = [inputs]
    values[(inputs[0][0], inputs[0][1])] = x
    pending = [(l, n, refs) for l in layers for n, refs in enumerate(l.get("inbound_nodes", []))]
    while pending:
        waiting = []
        for layer, node, refs in pending:
            keys = [(ref[0], ref[1]) for ref in refs]
            if not all(k in values for k in keys):
                waiting.append((layer, node, refs))
                continue
            values[(layer["config"]["name"], node)] = call(layer, [values[k] for k in keys])
        if len(waiting) == len(pending):
            raise ValueError("functional model: unreachable layers")
        pending = waiting
    out = cfg["output_layers"]
    if isinstance(out[0], str):
        out = [out]
    return values[(out[0][0], out[0][1])]


def without_final_activation(model):
    """A copy of the model whose last layer keeps its pre-activation values,
    to compare logits as well as probabilities."""
    model = json.loads(json.dumps(model))
    cfg = model["config"]
    if "input_layers" in cfg:
        out = cfg["output_layers"]
        name = (out[0] if not isinstance(out[0], str) else out)[0]
        last = next(l for l in cfg["layers"] if l["config"]["name"] == name)
    else:
        last = cfg["layers"][-1]
    if last["class_name"] in ("Activation", "Softmax"):
        last["class_name"], last["config"]["activation"] = "Activation", "linear"
    elif "activation" in last["config"]:
        last["config"]["activation"] = "linear"
    return model


# ---------------------------------------------------------------- synthetic models

def layer(cls, name, inbound=None, **cfg):
    cfg["name"] = name
    out = {"class_name": cls, "config": cfg, "name": name}
    if inbound is not None:
        out["inbound_nodes"] = [[[i, 0, 0, {}] for i in inbound]] if inbound else []
    return out


def cnn_config():
    """A functional model with every layer kind tfrun imports, on odd sizes
    so that "same" paddings are uneven."""
    L = layer
    ls = [
        L("InputLayer", "in", [], batch_input_shape=[None, 17, 19, 3], dtype="float32", sparse=False, ragged=False),
        L("ZeroPadding2D", "pad", ["in"], padding=[[1, 2], [0, 1]], data_format="channels_last"),
        L("Conv2D", "conv", ["pad"], filters=5, kernel_size=[3, 3], strides=[2, 2], padding="same", dilation_rate=[1, 1],
          activation="relu", use_bias=True, data_format="channels_last", groups=1),
        L("BatchNormalization", "bn", ["conv"], axis=[3], momentum=0.9, epsilon=0.001, center=True, scale=True),
        L("DepthwiseConv2D", "dw", ["bn"], kernel_size=[3, 3], strides=[2, 2], padding="same", depth_multiplier=2,
          dilation_rate=[1, 1], activation="linear", use_bias=True),
        L("ReLU", "relu6", ["dw"], max_value=6.0, negative_slope=0.1, threshold=0.5),
        L("SeparableConv2D", "sep", ["relu6"], filters=4, kernel_size=[3, 3], strides=[1, 1], padding="same",
          depth_multiplier=1, dilation_rate=[2, 2], activation="tanh", use_bias=True),
        L("Conv2D", "side", ["relu6"], filters=4, kernel_size=[1, 1], strides=[1, 1], padding="valid",
          dilation_rate=[1, 1], activation="linear", use_bias=False, groups=1),
        L("Add", "sum", ["sep", "side"]),
        L("Concatenate", "cat", ["sum", "relu6"], axis=-1),
        L("MaxPooling2D", "maxp", ["cat"], pool_size=[3, 3], strides=[2, 2], padding="same"),
        L("Conv2DTranspose", "up1", ["cat"], filters=3, kernel_size=[3, 3], strides=[2, 2], padding="same",
          activation="sigmoid", use_bias=True, output_padding=None, dilation_rate=[1, 1]),
        L("Conv2DTranspose", "up2", ["up1"], filters=2, kernel_size=[2, 2], strides=[3, 3], padding="valid",
          activation="linear", use_bias=True, output_padding=None, dilation_rate=[1, 1]),
        L("UpSampling2D", "bil", ["up2"], size=[2, 2], interpolation="bilinear"),
        L("AveragePooling2D", "avgp", ["bil"], pool_size=[3, 3], strides=[2, 2], padding="same"),
        L("UpSampling2D", "near", ["avgp"], size=[2, 1], interpolation="nearest"),
        L("Resizing", "resize", ["near"], height=9, width=7, interpolation="bilinear", crop_to_aspect_ratio=False),
        L("Rescaling", "rescale", ["resize"], scale=0.5, offset=0.1),
        L("BatchNormalization", "bn2", ["rescale"], axis=-1, momentum=0.99, epsilon=0.01, center=False, scale=False),
        L("Conv2D", "dil", ["bn2"], filters=3, kernel_size=[3, 2], strides=[1, 1], padding="valid",
          dilation_rate=[2, 2], activation="linear", use_bias=True, groups=1),
        L("LeakyReLU", "leaky", ["dil"], alpha=0.2),
        L("AveragePooling2D", "avgv", ["leaky"], pool_size=[2, 2], strides=[1, 2], padding="valid"),
        L("Flatten", "flat", ["avgv"]),
        L("Dense", "fc", ["flat"], units=8, activation="relu", use_bias=True),
        L("Reshape", "shape", ["fc"], target_shape=[2, -1]),
        L("Dense", "fc2", ["shape"], units=3, activation="linear", use_bias=True),
        L("Flatten", "flat2", ["fc2"]),
        L("GlobalAveragePooling2D", "gap", ["maxp"], keepdims=False),
        L("Concatenate", "cat2", ["flat2", "gap"], axis=1),
        L("Dropout", "drop", ["cat2"], rate=0.3),
        L("Dense", "logits", ["drop"], units=4, activation="linear", use_bias=True),
        L("Softmax", "probs", ["logits"], axis=-1),
    ]
    return {"class_name": "Functional", "config": {"name": "synthetic_cnn", "layers": ls,
                                                    "input_layers": [["in", 0, 0]], "output_layers": [["probs", 0, 0]]}}


def nested_config():
    """A Sequential model with a nested preprocessing Sequential (as the
    potato model has), a BatchNormalization and a sigmoid output."""
    pre = {"class_name": "Sequential", "config": {"name": "preprocess", "layers": [
        {"class_name": "Resizing", "config": {"name": "resizing", "height": 12, "width": 10, "interpolation": "bilinear"}},
        {"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 1 / 255.0, "offset": 0.0}},
    ]}}
    ls = [
        {"class_name": "InputLayer", "config": {"name": "input_1", "batch_input_shape": [None, 16, 20, 1]}},
        pre,
        {"class_name": "Conv2D", "config": {"name": "conv", "filters": 6, "kernel_size": [3, 3], "strides": [1, 1],
                                             "padding": "same", "dilation_rate": [1, 1], "activation": "linear", "use_bias": True}},
        {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [3], "epsilon": 0.001, "center": True, "scale": True}},
        {"class_name": "Activation", "config": {"name": "act", "activation": "relu"}},
        {"class_name": "GlobalAveragePooling2D", "config": {"name": "gap", "keepdims": True}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Dense", "config": {"name": "out", "units": 1, "activation": "sigmoid", "use_bias": True}},
    ]
    return {"class_name": "Sequential", "config": {"name": "synthetic_nested", "layers": ls}}


def random_weights(model, rng):
    """Random weights for each layer of a config, made as the reference
    runs a zero input through it and so learns each layer's input shape."""
    weights = {}

    def make(layer, x):
        cls, cfg = layer["class_name"], layer["config"]
        c = x.shape[-1]
        w = {}
        if cls == "Dense":
            w["kernel"] = rng.normal(0, 1 / np.sqrt(c), (c, cfg["units"]))
            w["bias"] = rng.normal(0, 0.1, cfg["units"])
        elif cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"):
            kh, kw = pair(cfg["kernel_size"])
            m = cfg.get("depth_multiplier", 1)
            if cls == "Conv2D":
                w["kernel"] = rng.normal(0, 1 / np.sqrt(kh * kw * c), (kh, kw, c, cfg["filters"]))
            elif cls == "Conv2DTranspose":
                w["kernel"] = rng.normal(0, 1 / np.sqrt(kh * kw * c), (kh, kw, cfg["filters"], c))
            else:
                w["depthwise_kernel"] = rng.normal(0, 1 / np.sqrt(kh * kw), (kh, kw, c, m))
                if cls == "SeparableConv2D":
                    w["pointwise_kernel"] = rng.normal(0, 1 / np.sqrt(c * m), (1, 1, c * m, cfg["filters"]))
            if cfg.get("use_bias", True):
                w["bias"] = rng.normal(0, 0.1, cfg.get("filters", c * m))
        elif cls == "BatchNormalization":
            if cfg.get("scale", True):
                w["gamma"] = rng.uniform(0.5, 1.5, c)
            if cfg.get("center", True):
                w["beta"] = rng.normal(0, 0.2, c)
            w["moving_mean"] = rng.normal(0, 0.3, c)
            w["moving_variance"] = rng.uniform(0.2, 2, c)
        if w:
            weights[cfg["name"]] = w

    first = model["config"]["layers"][0]["config"]
    run(model, np.zeros([1] + first["batch_input_shape"][1:]), weights, init=make)
    return weights


def write_h5(path, model, weights):
    """Writes a model as Keras 2.x's model.save("x.h5") does."""
    import h5py
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model).encode()
        mw = f.create_group("model_weights")
        names = []

        def save(layer, group_name, prefix):
            cfg = layer["config"]
            if "layers" in cfg:
                for sub in cfg["layers"]:
                    save(sub, group_name, prefix)
                return
            for wn, value in weights.get(cfg["name"], {}).items():
                full = "%s/%s:0" % (cfg["name"], wn)
                mw[group_name].create_dataset(full, data=value.astype(np.float32))
                prefix.append(full.encode())

        for layer in model["config"]["layers"]:
            name = layer["config"]["name"]
            names.append(name.encode())
            g = mw.create_group(name)
            wnames = []
            save(layer, name, wnames)
            g.attrs["weight_names"] = np.array(wnames, dtype="S")
        mw.attrs["layer_names"] = np.array(names, dtype="S")


# ---------------------------------------------------------------- commands

def read_idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = struct.unpack(">" + "i" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b[4 + 4 * nd:], np.uint8).reshape(dims)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("predict")
    pr.add_argument("model")
    pr.add_argument("input")
    pr.add_argument("out")
    pr.add_argument("--scale", type=float, default=1)
    pr.add_argument("--logits")
    pr.add_argument("--layers")
    mn = sub.add_parser("mnist")
    mn.add_argument("model")
    mn.add_argument("mnist_dir")
    mn.add_argument("--scale", type=float, default=1)
    sy = sub.add_parser("synthetic")
    sy.add_argument("out")
    sy.add_argument("--seed", type=int, default=1)
    sy.add_argument("--kind", choices=["cnn", "nested"], default="cnn")
    sy.add_argument("--probe", action="append", default=[])
    a = p.parse_args()

    if a.cmd == "synthetic":
        model = cnn_config() if a.kind == "cnn" else nested_config()
        weights = random_weights(model, np.random.default_rng(a.seed))
        write_h5(a.out, model, weights)
        for name in a.probe:
            probe = json.loads(json.dumps(model))
            probe["config"]["output_layers"] = [[name, 0, 0]]
            write_h5("%s-%s.h5" % (a.out[:-3], name), probe, weights)
        return
    model, weights = load(a.model)
    if a.cmd == "predict":
        x = np.load(a.input).astype(np.float64) / a.scale
        trace = {} if a.layers else None
        np.save(a.out, run(model, x, weights, trace=trace).astype(np.float32))
        for name, y in (trace or {}).items():
            np.save(os.path.join(a.layers, name + ".npy"), y.astype(np.float32))
        if a.logits:
            np.save(a.logits, run(without_final_activation(model), x, weights).astype(np.float32))
        return
    x = read_idx(os.path.join(a.mnist_dir, "t10k-images-idx3-ubyte.gz")).astype(np.float64) / a.scale
    y = read_idx(os.path.join(a.mnist_dir, "t10k-labels-idx1-ubyte.gz"))
    cfg = model["config"]["layers"][0]["config"]
    x = x.reshape((len(x),) + tuple(cfg["batch_input_shape"][1:]))
    pred = run(model, x, weights).argmax(axis=-1)
    json.dump({"accuracy": float((pred == y).mean()), "n": int(len(y))}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
