package shards

import (
	"bytes"
	"fmt"
	"strings"
)

// Format is a shard format.
type Format string

// The shard formats. A version can hold several, each a complete copy of the records.
const (
	// WebDataset: wds/shard-NNNNNN.tar (or .tar.gz) with <id>.json, <id>.txt (figure caption)
	// and the image(s) as <id>.jpg|png (several: <id>.0.jpg, <id>.1.png, …), plus
	// wds/sizes.json and the wids index wds/shards.wids.json.
	WebDataset Format = "webdataset"
	// Parquet: parquet/part-NNNNNN.parquet with the trainer columns (see package pq).
	Parquet Format = "parquet"
	// MDS: mds/shard.NNNNN.mds.zstd and mds/index.json (MosaicML Streaming).
	MDS Format = "mds"
	// JSONL: jsonl/part-NNNNNN.jsonl (or .jsonl.zst), one record per line, without image
	// bytes.
	JSONL Format = "jsonl"
)

// Formats lists every format, in the order readers prefer them.
var Formats = []Format{WebDataset, MDS, Parquet, JSONL}

// ParseFormats parses a comma-separated list such as "webdataset,parquet" (aliases: wds, pq,
// json).
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	seen := map[Format]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if part == "" {
			continue
		}
		var f Format
		switch part {
		case "webdataset", "wds", "tar":
			f = WebDataset
		case "parquet", "pq":
			f = Parquet
		case "mds":
			f = MDS
		case "jsonl", "json":
			f = JSONL
		default:
			return nil, fmt.Errorf("unknown format %q (webdataset, parquet, mds, jsonl)", part)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no format in %q", s)
	}
	return out, nil
}

// imageExt returns the file extension for image bytes: sniffed from the bytes, else from the
// declared format.
func imageExt(data []byte, declared string) string {
	switch {
	case isJPEG(data):
		return "jpg"
	case isPNG(data):
		return "png"
	case bytes.HasPrefix(data, []byte("RIFF")) && len(data) > 12 && string(data[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(data, []byte{0, 0, 0, 0x0c, 'j', 'P', ' ', ' '}):
		return "jp2"
	}
	switch d := strings.ToLower(declared); d {
	case "jpeg", "jpg", "":
		return "jpg"
	default:
		return d
	}
}

// isJPEG reports whether data starts like a JPEG file.
func isJPEG(data []byte) bool { return bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}) }

// isPNG reports whether data starts with the PNG signature.
func isPNG(data []byte) bool { return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) }

// isImageExt reports extensions that hold images in our WebDataset shards.
func isImageExt(ext string) bool {
	switch ext {
	case "jpg", "jpeg", "png", "webp", "jp2", "tif", "tiff", "ppm", "bmp", "gif":
		return true
	}
	return false
}
