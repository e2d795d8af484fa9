#!/usr/bin/env python3
"""Reads WebDataset shards the way webdataset's tar iterator does, with the standard library
only, and prints what a trainer would see as JSON. Usage: wds_check.py DIR (the wds/ folder)."""
import hashlib
import json
import os
import re
import sys
import tarfile

KEY_RULE = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")  # webdataset's base_plus_ext


def samples(path):
    """Yields (key, [(ext, data)]) grouping adjacent members by key, as tar_file_expander +
    group_by_keys do; raises on a repeated extension or a key seen again later."""
    seen = set()
    current_key, current = None, []
    with tarfile.open(path, "r:*") as tf:
        for info in tf:
            if not info.isreg():
                continue
            m = KEY_RULE.match(info.name)
            if not m or os.path.basename(info.name).startswith("__"):
                continue
            key, ext = m.group(1), m.group(2).lower()
            if info.mode != 0o444 or info.uname != "bigdata" or info.gname != "bigdata":
                raise SystemExit(f"{path}: {info.name}: mode {oct(info.mode)} owner {info.uname}:{info.gname}")
            if tf.format != tarfile.USTAR_FORMAT and not path.endswith(".gz"):
                pass
            data = tf.extractfile(info).read()
            if key != current_key:
                if current_key is not None:
                    yield current_key, current
                if key in seen:
                    raise SystemExit(f"{path}: key {key} not adjacent")
                seen.add(key)
                current_key, current = key, []
            if any(e == ext for e, _ in current):
                raise SystemExit(f"{path}: {key}: extension {ext} repeated")
            current.append((ext, data))
    if current_key is not None:
        yield current_key, current


def ustar(path):
    """Checks the raw headers: every member header carries the POSIX ustar magic."""
    if path.endswith(".gz"):
        import gzip
        raw = gzip.open(path).read()
    else:
        raw = open(path, "rb").read()
    off = 0
    n = 0
    while off + 512 <= len(raw):
        hdr = raw[off:off + 512]
        if hdr == b"\0" * 512:
            break
        if hdr[257:263] != b"ustar\0" or hdr[263:265] != b"00":
            raise SystemExit(f"{path}: member {n} is not USTAR")
        size = int(hdr[124:136].rstrip(b"\0 ") or b"0", 8)
        off += 512 + (size + 511) // 512 * 512
        n += 1
    return n


def main():
    d = sys.argv[1]
    sizes = json.load(open(os.path.join(d, "sizes.json")))
    wids = json.load(open(os.path.join(d, "shards.wids.json")))
    if wids.get("wids_version") != 1 or wids.get("__kind__") != "wids-shard-index-v1":
        raise SystemExit("wids index header")
    urls = [s["url"] for s in wids["shardlist"]]
    if urls != sorted(urls):
        raise SystemExit("wids shardlist not sorted by url")
    out = {"shards": [], "samples": []}
    for entry in wids["shardlist"]:
        path = os.path.join(d, entry["url"])
        blob = open(path, "rb").read()
        if hashlib.md5(blob).hexdigest() != entry["md5sum"] or len(blob) != entry["filesize"]:
            raise SystemExit(f"{path}: md5/size differ from the wids index")
        ustar(path)
        n = 0
        for key, members in samples(path):
            exts = [e for e, _ in members]
            if exts != sorted(exts):
                raise SystemExit(f"{path}: {key}: members not in sorted extension order: {exts}")
            rec = {"key": key, "exts": exts}
            for ext, data in members:
                if ext == "json":
                    rec["json_id"] = json.loads(data.decode("utf-8"))["id"]
                elif ext == "txt":
                    rec["txt"] = data.decode("utf-8")
                else:
                    rec.setdefault("images", {})[ext] = hashlib.sha256(data).hexdigest()
            out["samples"].append(rec)
            n += 1
        if n != entry["nsamples"] or sizes[entry["url"]] != n:
            raise SystemExit(f"{path}: {n} samples, index says {entry['nsamples']}, sizes.json {sizes[entry['url']]}")
        out["shards"].append({"url": entry["url"], "samples": n})
    json.dump(out, sys.stdout)


main()
