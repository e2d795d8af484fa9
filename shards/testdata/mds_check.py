#!/usr/bin/env python3
"""Decodes MDS shards following MosaicML Streaming's layout with python-zstd and struct only,
and prints what StreamingDataset would return as JSON. Usage: mds_check.py DIR (the mds/
folder). Needs Debian's python3-zstd (and python3-xxhash, python3-pil for the extra checks)."""
import hashlib
import io
import json
import os
import struct
import sys

import zstd
import xxhash
from PIL import Image

FIXED = {"int": 8, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "uint16": 2,
         "uint32": 4, "uint64": 8, "float16": 2, "float32": 4, "float64": 8}
CONFIG_KEYS = ["column_encodings", "column_names", "column_sizes", "compression", "format",
               "hashes", "size_limit", "version"]


def digest(algo, data):
    if algo == "xxh3_64":
        return xxhash.xxh3_64(data).hexdigest()
    return hashlib.new(algo, data).hexdigest()


def decode(enc, data):
    if enc == "str":
        return data.decode("utf-8")
    if enc == "json":
        return json.loads(data.decode("utf-8"))
    if enc in ("jpeg", "png"):
        img = Image.open(io.BytesIO(data))
        img.load()
        if enc == "png" and img.format != "PNG":
            raise SystemExit(f"a {img.format} image in a png column")
        return {"sha256": hashlib.sha256(data).hexdigest(), "size": list(img.size),
                "format": img.format}
    if enc.startswith("list["):
        _, n = struct.unpack("<II", data[:8])
        sizes = struct.unpack(f"<{n}I", data[8:8 + 4 * n])
        off = 8 + 4 * n
        items = []
        for s in sizes:
            items.append(decode(enc[5:-1], data[off:off + s]))
            off += s
        if off != len(data):
            raise SystemExit("list value has trailing bytes")
        return items
    raise SystemExit(f"encoding {enc} not handled by the checker")


def main():
    d = sys.argv[1]
    index = json.load(open(os.path.join(d, "index.json")))
    if index["version"] != 2:
        raise SystemExit("index version")
    out = {"shards": [], "samples": []}
    for sh in index["shards"]:
        if sh["version"] != 2 or sh["format"] != "mds":
            raise SystemExit("shard version/format")
        if sh["hashes"] != sorted(set(sh["hashes"])):
            raise SystemExit("hashes not sorted and unique")
        zip_data = sh["zip_data"]
        if zip_data:
            blob = open(os.path.join(d, zip_data["basename"]), "rb").read()
            for algo, want in zip_data["hashes"].items():
                if digest(algo, blob) != want:
                    raise SystemExit(f"{zip_data['basename']}: {algo} differs")
            raw = zstd.decompress(blob)  # one-shot: needs the frame content size
        else:
            raw = open(os.path.join(d, sh["raw_data"]["basename"]), "rb").read()
        if len(raw) != sh["raw_data"]["bytes"]:
            raise SystemExit("raw size differs")
        for algo, want in sh["raw_data"]["hashes"].items():
            if digest(algo, raw) != want:
                raise SystemExit(f"raw {algo} differs")
        config = {k: sh[k] for k in CONFIG_KEYS}
        config_bytes = json.dumps(config, sort_keys=True).encode("utf-8")
        (num,) = struct.unpack("<I", raw[:4])
        if num != sh["samples"]:
            raise SystemExit(f"shard holds {num} samples, index says {sh['samples']}")
        offsets = struct.unpack(f"<{num + 1}I", raw[4:4 + 4 * (num + 1)])
        head = 4 + 4 * (num + 1)
        if raw[head:offsets[0]] != config_bytes:
            raise SystemExit(f"embedded config differs from Python's json.dumps: {raw[head:offsets[0]]!r} vs {config_bytes!r}")
        if offsets[-1] != len(raw):
            raise SystemExit("offsets do not end at the end of the file")
        names, encs, sizes = sh["column_names"], sh["column_encodings"], sh["column_sizes"]
        if names != sorted(names):
            raise SystemExit("columns not sorted by name")
        for i in range(num):
            # the reader: seek to 4*(1+i), read begin/end
            begin, end = struct.unpack("<II", raw[4 * (1 + i):4 * (1 + i) + 8])
            data = raw[begin:end]
            var = [j for j, s in enumerate(sizes) if s is None]
            lens = list(struct.unpack(f"<{len(var)}I", data[:4 * len(var)]))
            off = 4 * len(var)
            sample = {}
            for j, name in enumerate(names):
                size = sizes[j] if sizes[j] is not None else lens.pop(0)
                sample[name] = decode(encs[j], data[off:off + size])
                off += size
            if off != len(data):
                raise SystemExit("sample has trailing bytes")
            out["samples"].append(sample)
        out["shards"].append({"basename": sh["raw_data"]["basename"], "samples": num,
                              "encodings": dict(zip(names, encs))})
    json.dump(out, sys.stdout)


main()
