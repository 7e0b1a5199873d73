"""Writes the small HDF5 files that savedmodels/h5 tests on.

Run with Debian's python3-h5py (h5py 3.7, HDF5 1.10.8):
    python3 testdata/h5/make_fixtures.py testdata/h5
Each file exercises a layout that Keras files can have, so the Go reader is
checked against what libhdf5 itself writes.
"""
import sys

import h5py
import numpy as np

out = sys.argv[1]


def fill(f):
    # h5py 3 stores str as variable-length UTF-8 and bytes as fixed-length,
    # as tf.keras does for keras_version and model_config.
    f.attrs["vlen"] = "variable length é"
    f.attrs["fixed"] = b'{"class_name": "Sequential"}'
    f.attrs["names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
    f.attrs["vnames"] = ["a", "", "ccc"]
    f.attrs["empty"] = np.array([])
    g = f.create_group("weights/dense")
    g.create_dataset("f32", data=np.arange(6, dtype="<f4").reshape(2, 3) / 4)
    g.create_dataset("f64", data=np.array([1.5, -2.25]))
    g.create_dataset("f16", data=np.array([0.5, 3], dtype="<f2"))
    g.create_dataset("be", data=np.array([1.25, 7], dtype=">f4"))
    g.create_dataset("i16", data=np.array([-3, 300], dtype="<i2"))
    g.create_dataset("u8", data=np.array([200], dtype="u1"))
    g.create_dataset("scalar", data=np.float32(42))
    g.create_dataset("zero", shape=(0, 4), dtype="f4")
    # At most 8 links per group, so that libver="latest" keeps them in
    # link messages rather than a fractal heap.
    g = f.create_group("weights/other")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((2,))
    ds = h5py.h5d.create(g.id, b"compact", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([9, 8], dtype="f4"))
    g.create_dataset("chunked", data=np.ones((4, 4), "f4"), chunks=(2, 2), compression="gzip")
    g.create_dataset("text", data=np.array([b"x"]))
    many = f.create_group("many")
    # 300 hard links to one group fill many symbol table nodes and give the
    # group's B-tree a second level, without 300 objects.
    target = f.create_group("target")
    target.attrs["deep"] = b"found"
    for i in range(300):
        many["m%03d" % i] = target
    lots = f.create_group("lots")
    for i in range(40):
        lots.attrs["a%02d" % i] = np.arange(40, dtype="f8")
    lots.attrs["last"] = b"after many attributes"


with h5py.File(out + "/earliest.h5", "w") as f:
    fill(f)
with h5py.File(out + "/latest.h5", "w", libver="latest") as f:
    fill(f)

# keras_like.h5 has the layout that Keras 2.x model.save("x.h5") writes
# (mnist.h5 from the course has it too), with a nested Sequential whose
# weights sit in its own group as sublayer/weight:0, and tiny weights:
# dense kernel [[1, 2], [3, 4], [5, 6]], bias [0.5, -0.5]; inner kernel
# [[1], [-1]], bias [0.25]; batch norm on 1 channel.
config = {
    "class_name": "Sequential",
    "config": {"name": "tiny", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 3], "dtype": "float32"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu", "use_bias": True}},
        {"class_name": "Sequential", "config": {"name": "inner", "layers": [
            {"class_name": "Dense", "config": {"name": "inner_dense", "units": 1, "activation": "linear", "use_bias": True}},
            {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": -1, "epsilon": 0.001, "trainable": True}},
        ]}},
        {"class_name": "Activation", "config": {"name": "act", "activation": "sigmoid"}},
    ]},
}
import json

with h5py.File(out + "/keras_like.h5", "w") as f:
    f.attrs["keras_version"] = b"2.3.1"
    f.attrs["backend"] = b"tensorflow"
    f.attrs["model_config"] = json.dumps(config).encode()
    mw = f.create_group("model_weights")
    mw.attrs["layer_names"] = np.array([b"dense", b"inner", b"act"])
    g = mw.create_group("dense")
    g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
    g["dense/kernel:0"] = np.array([[1, 2], [3, 4], [5, 6]], "f4")
    g["dense/bias:0"] = np.array([0.5, -0.5], "f4")
    g = mw.create_group("inner")
    g.attrs["weight_names"] = np.array([
        b"inner_dense/kernel:0", b"inner_dense/bias:0",
        b"bn/gamma:0", b"bn/beta:0", b"bn/moving_mean:0", b"bn/moving_variance:0"])
    g["inner_dense/kernel:0"] = np.array([[1], [-1]], "f4")
    g["inner_dense/bias:0"] = np.array([0.25], "f4")
    for name, v in [("gamma", 2), ("beta", 1), ("moving_mean", 0.5), ("moving_variance", 4)]:
        g["bn/%s:0" % name] = np.array([v], "f4")
    g = mw.create_group("act")
    g.attrs["weight_names"] = np.array([], "f8")
