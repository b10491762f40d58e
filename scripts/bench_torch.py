#!/usr/bin/env python3
"""The PyTorch baseline of `npm run bench`: the same models as the native rows, written
the way a PyTorch user would, on the same text, timed the same way (warm-up excluded, median of
several repetitions of at least a given time).

- General model: torch.nn.LSTM / torch.nn.GRU, 2 layers, a Linear output, one-hot input, B = 50
  streams of contiguous slices (the walk of lib/model/stream-walk.ts), T = 50, CrossEntropyLoss summed
  over the window and averaged over the streams, clip_grad_value_ 5, Adam lr 2e-3, hidden states
  carried across updates with .detach() (zeroed at each new epoch).
- Vanilla DD2424 model: torch.nn.RNN (tanh), m = 100, B = 1, T = 25, AdaGrad lr 0.1, clip 5.

Each thread count runs in its own child process with OPENBLAS_NUM_THREADS=1 and
torch.set_num_threads(n): Debian's torch calls OpenBLAS, whose own threads otherwise compete with
torch's (oversubscription). Two more children, one model each: 2 threads without
OPENBLAS_NUM_THREADS=1 at LSTM 2×128 (the oversubscription), and torch.set_num_threads(1) with
OPENBLAS_NUM_THREADS=2 at LSTM 2×512 (OpenBLAS's threads alone, where the multiplies dominate).

usage: bench_torch.py FILE REPS SECONDS_PER_REP GENERAL_REPS GENERAL_SECONDS_PER_REP
prints one JSON object: {"torch", "threads": [{"threads", "openblasThreads", "vanilla", "general"}], "variants": [the same]}
(internally: bench_torch.py --child THREADS MODELS FILE ... runs one child and prints its JSON.)
"""
import json
import os
import subprocess
import sys
import time

GENERAL_MODELS = [("lstm", 128), ("lstm", 512), ("gru", 128), ("gru", 512)]
LAYERS, STREAMS, SEQ_LENGTH = 2, 50, 50
VANILLA_HIDDEN, VANILLA_SEQ_LENGTH = 100, 25
THREAD_COUNTS = [1, 2]


def load_text(path):
    import torch

    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return torch.tensor([index[c] for c in text], dtype=torch.long), len(chars)


class CharModel:
    """A recurrent net (torch.nn.RNN/LSTM/GRU) + Linear over B streams of contiguous slices, one update per call."""

    def __init__(self, data, vocab, cell, hidden, layers, streams, seq_length, optimizer, dropout=0.0):
        import torch

        self.torch, self.data, self.vocab = torch, data, vocab
        self.streams, self.seq_length = streams, seq_length
        self.slice = len(data) // streams
        self.position = 0
        recurrent = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        # input (T, B, K): batch_first=False; dropout between layers, and (self.drop) on the top
        # layer's output, as rnn-native's --dropout
        self.rnn = recurrent(vocab, hidden, num_layers=layers, dropout=dropout)
        self.drop = torch.nn.Dropout(dropout)
        self.output = torch.nn.Linear(hidden, vocab)
        self.params = list(self.rnn.parameters()) + list(self.output.parameters())
        self.optimizer = optimizer(self.params)
        self.loss = torch.nn.CrossEntropyLoss(reduction="sum")
        self.state = None  # zeros: torch's default initial state

    def update(self):
        torch, T, B = self.torch, self.seq_length, self.streams
        if self.slice - self.position < T + 1:  # a new epoch: back to each slice's start, zero states
            self.position, self.state = 0, None
        starts = torch.arange(B) * self.slice + self.position
        offsets = starts.unsqueeze(0) + torch.arange(T).unsqueeze(1)  # (T, B)
        x = torch.nn.functional.one_hot(self.data[offsets], self.vocab).float()
        y = self.data[offsets + 1]
        self.position += T
        out, state = self.rnn(x, self.state)
        loss = self.loss(self.output(self.drop(out)).reshape(T * B, self.vocab), y.reshape(T * B)) / B
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.params, 5)
        self.optimizer.step()
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return loss.item()


def updates_per_second(model, reps, seconds):
    """bench.ts's scheme: ≥ 0.3 s (and ≥ 2 updates) of warm-up, then `reps` repetitions of ≥ `seconds`."""
    warmup_end, warmed = time.perf_counter() + 0.3, 0
    while time.perf_counter() < warmup_end or warmed < 2:
        model.update()
        warmed += 1
    rates = []
    for _ in range(reps):
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            model.update()
            n += 1
        rates.append(n / (time.perf_counter() - start))
    return rates


def child(threads, models, path, reps, seconds, general_reps, general_seconds):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    data, vocab = load_text(path)
    result = {"threads": torch.get_num_threads(), "openblasThreads": os.environ.get("OPENBLAS_NUM_THREADS"), "general": []}
    if "vanilla" in models:
        adagrad = lambda params: torch.optim.Adagrad(params, lr=0.1, eps=1e-8)
        model = CharModel(data, vocab, "rnn", VANILLA_HIDDEN, 1, 1, VANILLA_SEQ_LENGTH, adagrad)
        rates = updates_per_second(model, reps, seconds)
        result["vanilla"] = {"hidden": VANILLA_HIDDEN, "updatesPerSecond": rates}
        print(f"measured torch vanilla m={VANILLA_HIDDEN} at {threads} thread(s)", file=sys.stderr)
    for cell, hidden in GENERAL_MODELS:
        if f"{cell}{hidden}" not in models:
            continue
        adam = lambda params: torch.optim.Adam(params, lr=2e-3)
        model = CharModel(data, vocab, cell, hidden, LAYERS, STREAMS, SEQ_LENGTH, adam)
        rates = updates_per_second(model, general_reps, general_seconds)
        chars = [rate * STREAMS * SEQ_LENGTH for rate in rates]
        result["general"].append({"cell": cell, "layers": LAYERS, "hidden": hidden, "batch": STREAMS, "seqLength": SEQ_LENGTH, "updatesPerSecond": rates, "charactersPerSecond": chars})
        print(f"measured torch {cell} {LAYERS}×{hidden} at {threads} thread(s)", file=sys.stderr)
    print(json.dumps(result))


def run_child(threads, models, argv, openblas_threads):
    """One child process; `openblas_threads` None leaves OPENBLAS_NUM_THREADS unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if openblas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(openblas_threads)
    command = [sys.executable, __file__, "--child", str(threads), ",".join(models), *argv]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(done.stdout)


def main():
    if sys.argv[1] == "--child":
        threads, models = int(sys.argv[2]), sys.argv[3].split(",")
        path, reps, seconds, general_reps, general_seconds = sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
        child(threads, models, path, reps, seconds, general_reps, general_seconds)
        return
    import torch

    every = ["vanilla"] + [f"{cell}{hidden}" for cell, hidden in GENERAL_MODELS]
    runs = [run_child(n, every, sys.argv[1:], 1) for n in THREAD_COUNTS]
    variants = [run_child(2, ["lstm128"], sys.argv[1:], None), run_child(1, ["lstm512"], sys.argv[1:], 2)]
    print(json.dumps({"torch": torch.__version__, "threads": runs, "variants": variants}))


if __name__ == "__main__":
    main()
