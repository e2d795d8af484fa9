"""Independent safetensors reader (Python standard library only) used by the Go tests.

Usage: check.py FILE  - prints one line per tensor: name dtype shape sum-of-values, after
checking the layout rules: u64 little-endian header length, JSON header, 8-byte aligned data,
contiguous non-overlapping offsets that cover the whole data section.
"""
import json
import struct
import sys


def half(u):
    s, e, m = u >> 15, (u >> 10) & 0x1F, u & 0x3FF
    if e == 0:
        v = m * 2.0 ** -24
    elif e == 31:
        v = float("inf") if m == 0 else float("nan")
    else:
        v = (1 + m / 1024.0) * 2.0 ** (e - 15)
    return -v if s else v


def main(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    assert (8 + n) % 8 == 0, "data section not 8-byte aligned"
    meta = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    spans = []
    for name in sorted(header):
        t = header[name]
        b, e = t["data_offsets"]
        size = {"F32": 4, "BF16": 2, "F16": 2, "F64": 8}[t["dtype"]]
        count = 1
        for d in t["shape"]:
            count *= d
        assert e - b == size * count, name
        raw = body[b:e]
        if t["dtype"] == "F32":
            vals = struct.unpack("<%df" % count, raw)
        elif t["dtype"] == "F64":
            vals = struct.unpack("<%dd" % count, raw)
        elif t["dtype"] == "BF16":
            vals = [struct.unpack("<f", b"\x00\x00" + raw[2 * i : 2 * i + 2])[0] for i in range(count)]
        else:
            vals = [half(struct.unpack("<H", raw[2 * i : 2 * i + 2])[0]) for i in range(count)]
        spans.append((b, e))
        print(name, t["dtype"], json.dumps(t["shape"], separators=(",", ":")), repr(sum(vals)))
    spans.sort()
    pos = 0
    for b, e in spans:
        assert b == pos, "gap or overlap in data offsets"
        pos = e
    assert pos == len(body), "data section has trailing bytes"


if __name__ == "__main__":
    main(sys.argv[1])
