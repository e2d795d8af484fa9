package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestHalfConversions(t *testing.T) {
	cases := []struct {
		f    float32
		bf16 uint16
		f16  uint16
	}{
		{0, 0x0000, 0x0000},
		{1, 0x3f80, 0x3c00},
		{-2, 0xc000, 0xc000},
		{0.5, 0x3f00, 0x3800},
		{65504, 0x4780, 0x7bff},
		{1e6, 0x4974, 0x7c00},                   // f16 overflows to +Inf
		{float32(math.Inf(-1)), 0xff80, 0xfc00}, // -Inf
		{5.960464477539063e-08, 0x3380, 0x0001}, // smallest f16 subnormal
		{1.0009765625, 0x3f80, 0x3c01},          // 1 + 2^-10: exact in f16, rounds to 1 in bf16
		{1.00048828125, 0x3f80, 0x3c00},         // 1 + 2^-11: tie, even → 1 in f16
	}
	for _, c := range cases {
		if got := Float32ToBF16(c.f); got != c.bf16 {
			t.Errorf("Float32ToBF16(%g) = %#04x, want %#04x", c.f, got, c.bf16)
		}
		if got := Float32ToF16(c.f); got != c.f16 {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", c.f, got, c.f16)
		}
	}
	// Every finite f16 bit pattern survives a round trip through float32.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN payloads
		}
		if got := Float32ToF16(F16ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("f16 %#04x → %g → %#04x", h, F16ToFloat32(uint16(h)), got)
		}
	}
	if !math.IsNaN(float64(BF16ToFloat32(Float32ToBF16(float32(math.NaN()))))) {
		t.Error("bf16 NaN lost")
	}
}

// handMade builds a file byte by byte as the format describes, independently of Encode.
func handMade() []byte {
	hdr := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]}}`
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hdr)))
	buf.WriteString(hdr)
	binary.Write(&buf, binary.LittleEndian, float32(1.5))
	binary.Write(&buf, binary.LittleEndian, float32(-3))
	binary.Write(&buf, binary.LittleEndian, uint16(0x3f80)) // 1.0
	binary.Write(&buf, binary.LittleEndian, uint16(0xc040)) // -3.0
	return buf.Bytes()
}

func TestParseHandMade(t *testing.T) {
	ts, meta, err := Parse(handMade())
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(ts) != 2 {
		t.Fatalf("meta %v, %d tensors", meta, len(ts))
	}
	a, _ := ts[0].Float32()
	b, _ := ts[1].Float32()
	if ts[0].Name != "a" || a[0] != 1.5 || a[1] != -3 {
		t.Errorf("a = %v", a)
	}
	if ts[1].Name != "b" || b[0] != 1 || b[1] != -3 || ts[1].Shape[1] != 2 {
		t.Errorf("b = %v shape %v", b, ts[1].Shape)
	}
}

func TestParseRejects(t *testing.T) {
	good := handMade()
	bad := map[string][]byte{
		"short":        good[:4],
		"header past":  append([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0}, good[8:]...),
		"truncated":    good[:len(good)-2],
		"bad json":     append([]byte{2, 0, 0, 0, 0, 0, 0, 0}, '{', '['),
		"shape/offset": []byte("\x3b\x00\x00\x00\x00\x00\x00\x00" + `{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}    ` + "\x00\x00\x00\x00\x00\x00\x00\x00"),
	}
	for name, b := range bad {
		if _, _, err := Parse(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRoundTripDtypes(t *testing.T) {
	vals := []float32{0, 1, -1, 0.333, 1234.5, -6e-5}
	for _, dt := range []DType{F32, BF16, F16, F64} {
		tn, err := FromFloat32("w", dt, []int{2, 3}, vals)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, []*Tensor{tn}, nil); err != nil {
			t.Fatal(err)
		}
		hl := binary.LittleEndian.Uint64(buf.Bytes())
		if (8+hl)%8 != 0 {
			t.Errorf("%s: data not 8-byte aligned", dt)
		}
		ts, _, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ts[0].Float32()
		tol := map[DType]float64{F32: 0, F64: 0, BF16: 1.0 / 256, F16: 1.0 / 2048}[dt]
		for i := range vals {
			if d := math.Abs(float64(got[i] - vals[i])); d > tol*math.Abs(float64(vals[i]))+1e-7 {
				t.Errorf("%s[%d]: %g → %g", dt, i, vals[i], got[i])
			}
		}
	}
}

func TestShardedDir(t *testing.T) {
	var ts []*Tensor
	for i, name := range []string{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.0.mlp.up_proj.weight"} {
		v := make([]float32, 100+i)
		for j := range v {
			v[j] = float32(i*1000 + j)
		}
		tn, _ := FromFloat32(name, F32, []int{len(v)}, v)
		ts = append(ts, tn)
	}
	for _, limit := range []int64{0, 500} {
		dir := t.TempDir()
		if err := WriteDir(dir, ts, limit); err != nil {
			t.Fatal(err)
		}
		_, idxErr := os.Stat(filepath.Join(dir, IndexName))
		if (limit > 0) != (idxErr == nil) {
			t.Fatalf("limit %d: index present = %v", limit, idxErr == nil)
		}
		got, err := ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ts) {
			t.Fatalf("limit %d: %d tensors back", limit, len(got))
		}
		for _, want := range ts {
			g := got[want.Name]
			if g == nil || !bytes.Equal(g.Data, want.Data) {
				t.Errorf("limit %d: %s differs", limit, want.Name)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(handMade())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := Parse(b)
		if err != nil {
			return
		}
		for _, tn := range ts {
			if tn.DType.Size() != 0 {
				if _, err := tn.Float32(); err != nil {
					t.Fatalf("accepted tensor does not convert: %v", err)
				}
			}
		}
	})
}

// TestPythonReader checks files written here with an independent reader in Python (standard
// library only): layout rules, shapes, dtypes and the values' sums.
func TestPythonReader(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 missing (run make deps)")
		}
		t.Skip("python3 missing")
	}
	var ts []*Tensor
	var want []string
	for i, dt := range []DType{F32, BF16, F16, F64} {
		v := []float32{1.5, -2.25, 0.125, 3, 0.5, 8}
		tn, err := FromFloat32(fmt.Sprintf("model.layers.%d.w", i), dt, []int{2, 3}, v)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tn)
		want = append(want, fmt.Sprintf("%s %s [2,3] 10.875", tn.Name, dt))
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/check.py", path).CombinedOutput()
	if err != nil {
		t.Fatalf("python reader: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("python reader:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}
