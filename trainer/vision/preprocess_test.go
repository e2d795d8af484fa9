package vision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"testing"
)

// Hand-worked smart_resize cases (see qwen2.md §8).
func TestSmartResize(t *testing.T) {
	cases := []struct {
		name               string
		h, w, minP, maxP   int
		wantH, wantW       int
		wantTokens, wantHW [2]int
		err                bool
	}{
		// Med-R1: 384×384 with max 401 408 → round(13.71)=14 → 392×392, grid 28×28, 196 tokens.
		{"med-r1 384", 384, 384, 3136, 401408, 392, 392, [2]int{196, 0}, [2]int{28, 28}, false},
		// Tiny: 28×28 is 784 < 3136 pixels: β = √(3136/784) = 2, ⌈28·2/28⌉·28 = 56.
		{"tiny 28", 28, 28, 3136, 1003520, 56, 56, [2]int{4, 0}, [2]int{4, 4}, false},
		// Non-square: round(30/28)=1 → 28, round(200/28)=round(7.14)=7 → 196; 5488 ≥ 3136.
		{"wide 30x200", 30, 200, 3136, 1003520, 28, 196, [2]int{7, 0}, [2]int{2, 14}, false},
		// Half to even: 70/28 = 2.5 → 2 (56), 98/28 = 3.5 → 4 (112).
		{"half-even 70x98", 70, 98, 3136, 1003520, 56, 112, [2]int{8, 0}, [2]int{4, 8}, false},
		// Over max: 1008×1512 > 401 408: β = √(1 500 000/401 408) = 1.93309…,
		// ⌊1000/β/28⌋ = ⌊18.47⌋ = 18 → 504, ⌊1500/β/28⌋ = ⌊27.71⌋ = 27 → 756.
		{"over max 1000x1500", 1000, 1500, 3136, 401408, 504, 756, [2]int{486, 0}, [2]int{36, 54}, false},
		// Tall non-square under min: 30×60 → 28×56 = 1568 < 3136: β = √(3136/1800) = 1.3199…,
		// ⌈30·β/28⌉ = ⌈1.414⌉ = 2 → 56, ⌈60·β/28⌉ = ⌈2.83⌉ = 3 → 84.
		{"under min 30x60", 30, 60, 3136, 1003520, 56, 84, [2]int{6, 0}, [2]int{4, 6}, false},
		{"too small", 20, 100, 3136, 1003520, 0, 0, [2]int{}, [2]int{}, true},
		{"aspect", 28, 6000, 3136, 1e9, 0, 0, [2]int{}, [2]int{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, w, err := SmartResize(c.h, c.w, c.minP, c.maxP)
			if c.err {
				if err == nil {
					t.Fatalf("want an error, got %d×%d", h, w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != c.wantH || w != c.wantW {
				t.Fatalf("got %d×%d, want %d×%d", h, w, c.wantH, c.wantW)
			}
			g := Grid{T: 1, H: h / PatchSize, W: w / PatchSize}
			if g.H != c.wantHW[0] || g.W != c.wantHW[1] || g.Tokens() != c.wantTokens[0] {
				t.Fatalf("grid %+v (%d tokens), want %v and %d tokens", g, g.Tokens(), c.wantHW, c.wantTokens[0])
			}
		})
	}
}

func pattern(w, h int) RGB8 {
	img := RGB8{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 3 * (y*w + x)
			img.Pix[i] = uint8((x*7 + y*13) % 256)
			img.Pix[i+1] = uint8((x*x + 3*y) % 256)
			img.Pix[i+2] = uint8(((x ^ y) * 5) % 256)
		}
	}
	return img
}

// ResizeBicubic is byte-identical to PIL's Image.resize(BICUBIC) (goldens from
// testdata/pil_resize.py with Debian's python3-pil 9.4): upscaling, downscaling with
// antialiasing, non-square and one-axis cases.
func TestResizeMatchesPIL(t *testing.T) {
	b, err := os.ReadFile("testdata/pil_resize.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			W, H, TW, TH int
			SHA256       string
			First        []int
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 5 {
		t.Fatalf("only %d golden cases", len(g.Cases))
	}
	for _, c := range g.Cases {
		r := ResizeBicubic(pattern(c.W, c.H), c.TW, c.TH)
		sum := sha256.Sum256(r.Pix)
		if hex.EncodeToString(sum[:]) != c.SHA256 {
			diff, worst := 0, 0
			ref := c.First
			for i := range ref {
				if int(r.Pix[i]) != ref[i] {
					diff++
				}
			}
			t.Errorf("%d×%d → %d×%d: bytes differ from PIL (first 12: got %v, PIL %v, %d differ; %d)", c.W, c.H, c.TW, c.TH, r.Pix[:12], ref, diff, worst)
		}
	}
}

// The patch rows follow (block row, block column, row in block, column in block) and each
// row (channel, frame, y, x), checked on an image that needs no resampling (56×84: grid 4×6)
// whose pixel values encode their coordinates.
func TestPreprocessPatchOrder(t *testing.T) {
	w, h := 84, 56
	img := RGB8{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 3 * (y*w + x)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = uint8(y), uint8(x), uint8((x+y)%7*30)
		}
	}
	px, g, err := Processor{}.Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	if g != (Grid{1, 4, 6}) || len(px) != 24*PatchDim || g.Tokens() != 6 {
		t.Fatalf("grid %+v, %d values", g, len(px))
	}
	norm := func(v uint8, c int) float32 {
		return float32((float64(v)/255 - ImageMean[c]) / ImageStd[c])
	}
	// Hand-worked: row 5 is block (0, 1) [bh=0, bw=1], mh=0, mw=1 → patch row 0, column 3:
	// pixels y 0–13, x 42–55. Its value 0 is channel 0 (y=0) → y; value 196·2 + 14·3 + 5 is
	// channel 1 (x), frame 0, y = 3, x = 42 + 5 = 47; the frame-1 copy sits 196 later.
	row := px[5*PatchDim : 6*PatchDim]
	checks := []struct {
		idx int
		v   float32
	}{
		{0, norm(0, 0)},
		{196*2 + 14*3 + 5, norm(47, 1)},
		{196*3 + 14*3 + 5, norm(47, 1)},
		{196*4 + 14*13 + 13, norm(uint8((55+13)%7*30), 2)},
	}
	for _, c := range checks {
		if row[c.idx] != c.v {
			t.Errorf("row 5 value %d: %g, want %g", c.idx, row[c.idx], c.v)
		}
	}
	// Row 14 = block (1, 0) [blocks per row 3, so block 3 = bh 1, bw 0], mh=1, mw=0 → patch
	// row 3, column 0: its first channel-0 value is y = 42.
	if v := px[14*PatchDim]; v != norm(42, 0) {
		t.Errorf("row 14 first value %g, want y=42 → %g", v, norm(42, 0))
	}
	// Every row: channel c, frame f, y, x equals the pixel at the patch position.
	for r := 0; r < 24; r++ {
		blk, in := r/4, r%4
		pr, pc := 2*(blk/3)+in/2, 2*(blk%3)+in%2
		for c := 0; c < 3; c++ {
			for f := 0; f < 2; f++ {
				for y := 0; y < 14; y++ {
					for x := 0; x < 14; x++ {
						yy, xx := pr*14+y, pc*14+x
						want := norm(img.Pix[3*(yy*w+xx)+c], c)
						if got := px[r*PatchDim+((c*2+f)*14+y)*14+x]; got != want {
							t.Fatalf("row %d c%d f%d y%d x%d: %g, want %g", r, c, f, y, x, got, want)
						}
					}
				}
			}
		}
	}
	// Normalisation constants: white → (1 − mean)/std.
	white := RGB8{W: 28, H: 28, Pix: make([]uint8, 3*28*28)}
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	wp, wg, err := Processor{}.Preprocess(white)
	if err != nil {
		t.Fatal(err)
	}
	if wg != (Grid{1, 4, 4}) {
		t.Fatalf("tiny white image grid %+v, want 1×4×4 (resized to 56×56)", wg)
	}
	for c := 0; c < 3; c++ {
		want := float32((1 - ImageMean[c]) / ImageStd[c])
		if got := wp[c*2*196]; math.Abs(float64(got-want)) > 0 || got != want {
			t.Errorf("white channel %d: %g, want %g", c, got, want)
		}
	}
}

func FuzzSmartResize(f *testing.F) {
	f.Add(384, 384, 3136, 401408)
	f.Add(28, 5000, 3136, 1003520)
	f.Fuzz(func(t *testing.T, h, w, minP, maxP int) {
		if h > 1<<16 || w > 1<<16 || h < 0 || w < 0 || minP < 784 || maxP < minP || maxP > 1<<26 {
			return
		}
		hh, ww, err := SmartResize(h, w, minP, maxP)
		if err != nil {
			return
		}
		if hh%Factor != 0 || ww%Factor != 0 || hh <= 0 || ww <= 0 {
			t.Fatalf("%d×%d → %d×%d not positive multiples of 28", h, w, hh, ww)
		}
	})
}

// ToRGB8 drops alpha like PIL's convert("RGB"): a half-transparent red pixel stays (255, 0, 0),
// grey stays grey.
func TestToRGB8(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 128})
	img.SetNRGBA(1, 0, color.NRGBA{7, 77, 177, 255})
	got := ToRGB8(img)
	if fmt.Sprint(got.Pix) != "[255 0 0 7 77 177]" {
		t.Fatalf("got %v", got.Pix)
	}
	g := image.NewGray(image.Rect(0, 0, 1, 1))
	g.Pix[0] = 99
	if p := ToRGB8(g).Pix; fmt.Sprint(p) != "[99 99 99]" {
		t.Fatalf("grey: %v", p)
	}
}
