#!/usr/bin/env python3
"""The same-run baseline of `npm run bench`: a plain numpy (float32) implementation of the same
vanilla char-RNN update (forward, BPTT, clipping, AdaGrad, the data walk), as the assignment's
reports write it. Single-threaded BLAS: run it with OPENBLAS_NUM_THREADS=1 (scripts/bench.ts does).

usage: bench_numpy.py FILE HIDDEN WARMUP_UPDATES SECONDS_PER_REP REPS
prints one JSON object: {"hidden", "vocab", "updatesPerSecond": [one figure per repetition]}
"""
import json
import sys
import time

import numpy as np


def main():
    path, m, warmup, seconds, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = np.array([index[c] for c in text], dtype=np.int32)
    K, T, eta, eps, clip = len(chars), 25, np.float32(0.1), np.float32(1e-8), np.float32(5)
    rng = np.random.default_rng(42)
    f32 = np.float32
    params = {
        "U": (rng.standard_normal((m, K)) * 0.01).astype(f32),
        "W": (rng.standard_normal((m, m)) * 0.01).astype(f32),
        "V": (rng.standard_normal((K, m)) * 0.01).astype(f32),
        "b": np.zeros((m, 1), f32),
        "c": np.zeros((K, 1), f32),
    }
    accum = {k: np.zeros_like(v) for k, v in params.items()}
    state = {"e": 0, "h": np.zeros((m, 1), f32)}

    def update():
        if len(data) - state["e"] < T + 1:
            state["e"], state["h"] = 0, np.zeros((m, 1), f32)
        e = state["e"]
        x, y = data[e:e + T], data[e + 1:e + T + 1]
        U, W, V, b, c = params["U"], params["W"], params["V"], params["b"], params["c"]
        hs = {-1: state["h"]}
        ps = {}
        loss = 0.0
        for t in range(T):
            xt = np.zeros((K, 1), f32)
            xt[x[t]] = 1
            hs[t] = np.tanh(W @ hs[t - 1] + U @ xt + b)
            o = V @ hs[t] + c
            o = o - o.max()
            p = np.exp(o) / np.exp(o).sum()
            ps[t] = p
            loss -= float(np.log(p[y[t], 0]))
        grads = {k: np.zeros_like(v) for k, v in params.items()}
        dh_next = np.zeros((m, 1), f32)
        for t in reversed(range(T)):
            do = ps[t].copy()
            do[y[t]] -= 1
            grads["V"] += do @ hs[t].T
            grads["c"] += do
            dh = V.T @ do + dh_next
            da = (1 - hs[t] * hs[t]) * dh
            grads["b"] += da
            grads["W"] += da @ hs[t - 1].T
            grads["U"][:, x[t]] += da[:, 0]
            dh_next = W.T @ da
        for k in params:
            g = np.clip(grads[k], -clip, clip)
            accum[k] += g * g
            params[k] -= eta * g / np.sqrt(accum[k] + eps)
        state["h"] = hs[T - 1]
        state["e"] = e + T
        return loss

    for _ in range(warmup):
        update()
    rates = []
    for _ in range(reps):
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            update()
            n += 1
        rates.append(n / (time.perf_counter() - start))
    print(json.dumps({"hidden": m, "vocab": K, "updatesPerSecond": rates, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
