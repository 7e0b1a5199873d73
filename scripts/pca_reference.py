#!/usr/bin/python3
"""Reference PCA values for pca/pca_test.go, computed with numpy alone.

Run from the repository root:  /usr/bin/python3 scripts/pca_reference.py
It writes testdata/pca/synthetic.json (a small matrix built from a closed
formula, its PCA) and, when ../shared/data is present,
testdata/pca/jasper_ridge.json (the PCA of all 10 000 pixels of the Jasper
Ridge cube, read from the raw ENVI BSQ file, so GDAL is not involved).

PCA here is numpy.linalg.eigh of numpy.cov (n-1 denominator), eigenvalues
sorted in decreasing order; explained variance ratio = eigenvalue / trace.
Components are stored as numpy returns them: the Go test compares them up
to sign.
"""
import json
import os

import numpy as np


def pca(x, k):
    cov = np.cov(x, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    return {
        "mean": x.mean(axis=0).tolist(),
        "components": vectors[:, :k].T.tolist(),
        "explained_variance": values[:k].tolist(),
        "explained_variance_ratio": (values[:k] / values.sum()).tolist(),
    }


def synthetic():
    # Five bands driven by two latent signals plus small independent terms,
    # so the leading two components carry most of the variance.
    n, bands = 40, 5
    i = np.arange(n, dtype=np.float64)
    a, b = np.sin(0.7 * i), np.cos(0.23 * i * i)
    x = np.empty((n, bands))
    for j in range(bands):
        x[:, j] = (j + 1) * a + (bands - j) * 0.5 * b + 0.05 * np.sin(1.9 * i * (j + 2)) + 10 * j
    ref = pca(x, 3)
    ref["data"] = x.ravel().tolist()
    ref["n"], ref["bands"] = n, bands
    return ref


def jasper(path):
    cube = np.fromfile(path, dtype="<u2").astype(np.float64)
    cube = cube.reshape(198, 100 * 100).T  # BSQ: band-major
    return pca(cube, 6)


def main():
    out = "testdata/pca"
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "synthetic.json"), "w") as f:
        json.dump(synthetic(), f)
    cube = "../shared/data/jasper_ridge/jasper_ridge.img"
    if os.path.exists(cube):
        with open(os.path.join(out, "jasper_ridge.json"), "w") as f:
            json.dump(jasper(cube), f)


if __name__ == "__main__":
    main()
