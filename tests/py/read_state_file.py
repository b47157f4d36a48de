"""Reads a state file the way Python's `safetensors` does, checking the rules its Rust reader enforces.

The `safetensors` wheel is not installable offline here, so this is a strict re-implementation of the
format's validation (header length, JSON object, string-to-string __metadata__, known dtypes, data offsets
contiguous from 0 and covering the whole buffer with no gaps or overlaps, sizes matching shapes), then
numpy views of the tensors. Prints JSON: the metadata, the f64 sum of each F32 tensor, the I32 tensors.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": (np.float32, 4), "I32": (np.int32, 4), "F16": (np.float16, 2)}

with open(sys.argv[1], "rb") as f:
    data = f.read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8 : 8 + n].decode("utf-8"))
assert isinstance(header, dict)
assert data[8 : 8 + n].decode("utf-8").startswith("{")
meta = header.pop("__metadata__", {})
assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), "metadata must be str->str"
body = data[8 + n :]
spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
pos = 0
for begin, end, name in spans:
    assert begin == pos, f"{name}: gap or overlap at {begin} (expected {pos})"
    info = header[name]
    dtype, size = DTYPES[info["dtype"]]
    assert end - begin == size * int(np.prod(info["shape"], dtype=np.int64)), f"{name}: size mismatch"
    pos = end
assert pos == len(body), "data section must be fully covered by tensors"

sums, tokens = {}, {}
for name, info in header.items():
    begin, end = info["data_offsets"]
    dtype, _ = DTYPES[info["dtype"]]
    arr = np.frombuffer(body[begin:end], dtype=np.dtype(dtype).newbyteorder("<")).reshape(info["shape"])
    if info["dtype"] == "I32":
        tokens[name] = arr.tolist()
    else:
        sums[name] = float(arr.astype(np.float64).sum())
print(json.dumps({"metadata": meta, "sums": sums, "tokens": tokens}))
