"""Loads an rnn-native `torch` export into PyTorch. Needs only torch (1.13 or later).

    import load_rnn_native as rn
    model = rn.load("DIR")                       # float32, as the weights are stored
    print(model.generate("ROMEO:", 200, temperature=0.8, seed=1))
    logits, state = model(model.encode("To be"))   # logits of the symbol after each one: (5, K)
    logits, state = model(model.encode(","), state)  # go on from where the text stopped

As a script: python3 DIR/load_rnn_native.py PRIME [LENGTH] prints PRIME and a sample after it.
The model: symbols fed one-hot (time first) to torch.nn.RNN|LSTM|GRU, then torch.nn.Linear to
the logits of the next symbol. The weights are float32, as rnn-native holds them; load() computes
in float32, like rnn-native's native backend. load(DIR, torch.float64) gives the logits of
rnn-native's float64 reference to rounding (tested to 1e-9; see rnn-native's docs/export.md).
"""
import json
import os
import struct
import sys

import torch

FORMAT = "rnn-native-torch"
FORMAT_VERSION = 1
CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def read_safetensors(path):
    """The F32 tensors of a safetensors file by name: an 8-byte little-endian header length N, N
    bytes of JSON (name -> dtype, shape, data_offsets), then the tensors' bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, not F32")
        begin, end = entry["data_offsets"]
        # A bytearray copy: writable, so torch.frombuffer neither warns nor shares the file's bytes.
        data = bytearray(raw[8 + n + begin : 8 + n + end])
        tensors[name] = torch.frombuffer(data, dtype=torch.float32).reshape(entry["shape"])
    return tensors


class CharModel(torch.nn.Module):
    """rnn (L layers, time first) over one-hot symbols, then decoder: the next symbol's logits."""

    def __init__(self, config):
        super().__init__()
        self.vocabulary = config["vocabulary"]  # the characters, in id order
        self.ids = {character: i for i, character in enumerate(self.vocabulary)}
        size, hidden = len(self.vocabulary), config["hidden"]
        options = {"nonlinearity": "tanh"} if config["cell"] == "rnn" else {}
        self.rnn = CELLS[config["cell"]](input_size=size, hidden_size=hidden, num_layers=config["layers"], **options)
        self.decoder = torch.nn.Linear(hidden, size)

    def forward(self, ids, state=None):
        """ids: symbol ids, shape (T,) or (T, B) (time first). state: what the previous call
        returned, or None for zeros. Returns the logits of the symbol after each id, (T, K) or
        (T, B, K), and the state after the last id."""
        x = torch.nn.functional.one_hot(ids, len(self.vocabulary)).to(self.decoder.weight.dtype)
        out, state = self.rnn(x if ids.dim() == 2 else x.unsqueeze(1), state)
        logits = self.decoder(out)
        return (logits if ids.dim() == 2 else logits.squeeze(1)), state

    def encode(self, text):
        """The ids of text's characters (code points); ValueError for characters the model lacks."""
        unknown = sorted(set(text) - self.ids.keys())
        if unknown:
            raise ValueError(f"characters not in the model's vocabulary: {unknown}")
        return torch.tensor([self.ids[character] for character in text], dtype=torch.long)

    def decode(self, ids):
        return "".join(self.vocabulary[int(i)] for i in ids)

    @torch.no_grad()
    def generate(self, prime, length, temperature=1.0, seed=0):
        """prime (at least one character) and `length` characters drawn after it, each from
        softmax(logits / temperature), or the most likely one at temperature 0. The draws are
        torch's: the same seed does not give the text rnn-native's sample command gives."""
        generator = torch.Generator().manual_seed(seed)
        logits, state = self(self.encode(prime))
        drawn = []
        for _ in range(length):
            last = logits[-1]
            if temperature == 0:
                next_id = int(last.argmax())
            else:
                next_id = int(torch.multinomial(torch.softmax(last / temperature, 0), 1, generator=generator))
            drawn.append(next_id)
            logits, state = self(torch.tensor([next_id]), state)
        return prime + self.decode(drawn)


def load(directory, dtype=torch.float32):
    """The model of an export directory, in eval mode, computing in dtype."""
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}: not an {FORMAT} export of version {FORMAT_VERSION}")
    model = CharModel(config)
    model.load_state_dict(read_safetensors(os.path.join(directory, "model.safetensors")))  # strict
    return model.to(dtype).eval()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python3 load_rnn_native.py PRIME [LENGTH]")
    if sys.argv[1] == "" or (len(sys.argv) == 3 and not sys.argv[2].isdigit()):
        sys.exit("load_rnn_native.py: PRIME must not be empty and LENGTH must be a whole number")
    model = load(os.path.dirname(os.path.abspath(__file__)))
    try:
        print(model.generate(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 200))
    except ValueError as error:  # a character the model does not know
        sys.exit(f"load_rnn_native.py: {error}")
