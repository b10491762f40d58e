#!/usr/bin/env python3
"""Time to quality, PyTorch side: bench_torch.py's LSTM with `train --preset char-rnn`'s
settings, trained for a wall-clock budget while the validation loss is logged, to compare with
`rnn-native train --preset char-rnn --eval-every N --json` (its `val` events) on the same text.

Same as the preset: LSTM 2 × 128, B = 50 streams of contiguous slices, T = 50, RMSprop lr 2e-3
(alpha 0.95, eps 1e-8), the rate × 0.97 per epoch after epoch 10, clip_grad_value_ 5, the last
⌊0.05·N⌋ characters held out; the validation loss is rnn-native's: the whole held-out part read
forward as one stream from zero states, mean −log p in nats per character. The weights start from
PyTorch's own initialisation, as a PyTorch user's would, except the forget gates' input biases
(bias_ih, second quarter), which start at FORGET_BIAS as char-rnn's (and the preset's, since 0.3.0):
1 unless given. DROPOUT (default 0) is rnn-native's --dropout: between the layers (nn.LSTM's
dropout) and on the top layer's output; validation runs without it. `elapsed` is wall time since
the start, validation passes included (as val.csv's).

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/quality_torch.py FILE SECONDS EVAL_EVERY [THREADS [DROPOUT [FORGET_BIAS]]]
prints one JSON object per evaluation: {"step", "epoch", "elapsed", "valLoss"}
"""
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import CharModel, load_text  # noqa: E402

HIDDEN, LAYERS, STREAMS, SEQ_LENGTH = 128, 2, 50, 50
LR, DECAY, DECAY_AFTER, VAL_FRACTION, WINDOW = 2e-3, 0.97, 10, 0.05, 100


def validation_loss(model, held_out):
    """Nats per character of the held-out symbols, one stream from zero states, no gradients."""
    torch = model.torch
    total, state = 0.0, None
    model.rnn.eval()  # no dropout
    with torch.no_grad():
        for start in range(0, len(held_out) - 1, WINDOW):
            end = min(start + WINDOW, len(held_out) - 1)
            x = torch.nn.functional.one_hot(held_out[start:end], model.vocab).float().unsqueeze(1)  # (T, 1, K)
            out, state = model.rnn(x, state)
            total += model.loss(model.output(out).reshape(end - start, model.vocab), held_out[start + 1 : end + 1]).item()
    model.rnn.train()
    return total / (len(held_out) - 1)


def main(path, seconds, eval_every, threads=1, dropout=0.0, forget_bias=1.0):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(42)
    data, vocab = load_text(path)
    held = math.floor(VAL_FRACTION * len(data))
    train, held_out = data[: len(data) - held], data[len(data) - held :]
    rmsprop = lambda params: torch.optim.RMSprop(params, lr=LR, alpha=0.95, eps=1e-8)
    model = CharModel(train, vocab, "lstm", HIDDEN, LAYERS, STREAMS, SEQ_LENGTH, rmsprop, dropout)
    with torch.no_grad():
        for layer in range(LAYERS):
            getattr(model.rnn, f"bias_ih_l{layer}")[HIDDEN : 2 * HIDDEN] = forget_bias  # gates i f g o
    started, step, epoch = time.perf_counter(), 0, 1
    while time.perf_counter() - started < seconds:
        if model.slice - model.position < SEQ_LENGTH + 1:  # the update starts a new epoch
            epoch += 1
            for group in model.optimizer.param_groups:
                group["lr"] = LR * DECAY ** max(0, epoch - DECAY_AFTER)
        model.update()
        step += 1
        if step % eval_every == 0:
            loss = validation_loss(model, held_out)
            print(json.dumps({"step": step, "epoch": epoch, "elapsed": time.perf_counter() - started, "valLoss": loss}), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], float(args[1]), int(args[2]), *(f(a) for f, a in zip((int, float, float), args[3:])))
