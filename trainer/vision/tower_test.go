package vision

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/internal/gradcheck"
	"github.com/eosinlab/eosin/trainer/model"
)

func dotf(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// tinyVision is a 2-block tower over 2×2 patches (patch row 24 values), width 8, 2 heads.
func tinyVision(gen Generation, out int) Config {
	c := Config{Depth: 2, NumHeads: 2, InChans: 3, PatchSize: 2, SpatialMergeSize: 2, TemporalPatchSize: 2, Gen: gen}
	if gen == Qwen2VL {
		c.EmbedDim, c.HiddenSize, c.MLPRatio = 8, out, 2
	} else {
		c.HiddenSize, c.OutHiddenSize, c.IntermediateSize = 8, out, 12
		c.WindowSize = 8 // 8 / 2 / 2 = 2 merged tokens per window side
		c.FullAttBlockIndexes = []int{1}
	}
	return c
}

func perturbVectors[T model.Float](ts []model.ParamTensor, data []T, rng *rand.Rand) {
	for _, tn := range ts {
		if len(tn.Shape) == 1 {
			for i := tn.Offset; i < tn.Offset+tn.Len(); i++ {
				data[i] += T(rng.NormFloat64() * 0.3)
			}
		}
	}
}

// Hand-worked window index (Qwen2.5-VL): image A has a 2×3 merged grid, windows of 2×2:
// padding 2 − 2 mod 2 = 2 rows (a whole empty window row) and 2 − 3 mod 2 = 1 column; the
// windows hold merged tokens {0,1,3,4} and {2,5}, then two empty windows. Image B (1×1
// merged) is one window holding token 6. Window lengths ×4 patches: 16, 8, 4.
func TestWindowIndex(t *testing.T) {
	idx, segs := WindowIndex([]Grid{{1, 4, 6}, {1, 2, 2}}, 2)
	if fmt.Sprint(idx) != "[0 1 3 4 2 5 6]" || fmt.Sprint(segs) != "[0 16 24 28]" {
		t.Fatalf("index %v segs %v, want [0 1 3 4 2 5 6] and [0 16 24 28]", idx, segs)
	}
	// Real size: a 392×392 image (28×28 patches, 14×14 merged) with 4×4 windows: 4×4 windows,
	// the last row and column of windows 2 wide; 196 merged tokens.
	idx, segs = WindowIndex([]Grid{{1, 28, 28}}, 4)
	if len(idx) != 196 || len(segs) != 17 || segs[1] != 64 || segs[4] != 64*3+32 || segs[16] != 784 {
		t.Fatalf("392×392: %d ids, segs %v", len(idx), segs)
	}
	seen := map[int]bool{}
	for _, i := range idx {
		seen[i] = true
	}
	if len(seen) != 196 {
		t.Fatal("window index is not a permutation")
	}
}

// 2-D rotary: patch rows follow the merge-block order, the first half of the angles uses the
// patch row, the second the column (head dim 8 ⇒ 2 frequencies 1 and 10000^(−1/2)).
func TestRotaryTables(t *testing.T) {
	cos, sin := RotaryTables[float64]([]Grid{{1, 2, 4}}, 8)
	// Patch row 3 is block 0, mh=1, mw=1 → (row 1, column 1); row 6 is block 1, mh=1,
	// mw=0 → (row 1, column 2).
	for _, c := range []struct{ row, r, col int }{{3, 1, 1}, {6, 1, 2}, {5, 0, 3}} {
		want := []float64{float64(c.r), float64(c.r) * 0.01, float64(c.col), float64(c.col) * 0.01}
		for k := 0; k < 4; k++ {
			for _, kk := range []int{k, k + 4} {
				if math.Abs(cos[c.row*8+kk]-math.Cos(want[k])) > 1e-15 || math.Abs(sin[c.row*8+kk]-math.Sin(want[k])) > 1e-15 {
					t.Fatalf("patch %d dim %d: cos %g, want angle %g", c.row, kk, cos[c.row*8+kk], want[k])
				}
			}
		}
	}
}

// The tower's gradients match central differences for both generations (two images, one
// needing window padding).
func TestTowerGradient(t *testing.T) {
	for _, gen := range []Generation{Qwen2VL, Qwen25VL} {
		t.Run(fmt.Sprint("gen", gen), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(gen)))
			c := tinyVision(gen, 6)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			p := NewParams[float64](c)
			p.InitRandom(rng, 0.4)
			perturbVectors(p.Tensors, p.Data, rng)
			tw := NewTower(p, &model.CPU[float64]{Workers: 2})
			grids := []Grid{{1, 4, 6}, {1, 2, 2}}
			pix := gradcheck.RandVec(rng, 28*c.PatchDim(), 1)
			r := gradcheck.RandVec(rng, 7*6, 1)
			loss := func() float64 {
				_, out, err := tw.Forward(pix, grids)
				if err != nil {
					t.Fatal(err)
				}
				return dotf(out, r)
			}
			a, _, _ := tw.Forward(pix, grids)
			g := p.ZerosLike()
			tw.Backward(a, r, g)
			num := gradcheck.NumGrad(p.Data, loss)
			worst := 0.0
			for _, tn := range p.Tensors {
				e := gradcheck.RelErr(g.Data[tn.Offset:tn.Offset+tn.Len()], num[tn.Offset:tn.Offset+tn.Len()])
				worst = math.Max(worst, e)
				if e > 1e-6 || math.IsNaN(e) {
					t.Errorf("%s: relative error %.3g > 1e-6", tn.Name, e)
				}
			}
			t.Logf("%d parameters, worst per-tensor relative error %.3g (bound 1e-6)", len(p.Data), worst)
		})
	}
}

// Window attention really is local in Qwen2.5-VL blocks outside fullatt_block_indexes and
// the window reordering is undone: with every block windowed, changing a patch of one window
// leaves the merged tokens of other windows unchanged; with full attention it does not.
func TestWindowLocality(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	c := tinyVision(Qwen25VL, 6)
	c.FullAttBlockIndexes = nil
	p := NewParams[float64](c)
	p.InitRandom(rng, 0.4)
	tw := NewTower(p, &model.CPU[float64]{})
	grids := []Grid{{1, 4, 6}}
	pix := gradcheck.RandVec(rng, 24*c.PatchDim(), 1)
	_, base, _ := tw.Forward(pix, grids)
	// Patch row 8+ belongs to merged token 2 (first row, third column): window {2, 5}.
	pix2 := append([]float64(nil), pix...)
	for i := 8 * c.PatchDim(); i < 9*c.PatchDim(); i++ {
		pix2[i] += 1
	}
	_, got, _ := tw.Forward(pix2, grids)
	for tok := 0; tok < 6; tok++ {
		changed := false
		for k := 0; k < 6; k++ {
			changed = changed || got[tok*6+k] != base[tok*6+k]
		}
		if want := tok == 2 || tok == 5; changed != want {
			t.Errorf("merged token %d changed=%v, want %v", tok, changed, want)
		}
	}
	c.FullAttBlockIndexes = []int{0}
	tw.Cfg = c
	_, base, _ = tw.Forward(pix, grids)
	_, got, _ = tw.Forward(pix2, grids)
	if got[0] == base[0] {
		t.Error("with a full-attention block, token 0 should see the change")
	}
}

func tinyDecoder(hidden, vocab int) model.Config {
	return model.Config{HiddenSize: hidden, IntermediateSize: 20, NumHiddenLayers: 2, NumAttentionHeads: 2, NumKeyValueHeads: 1,
		VocabSize: vocab, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, InitializerRange: 0.4}
}

func tinyVL(gen Generation, out int) VLConfig {
	vl := VLConfig{ImageTokenID: 11, VisionStartID: 9, VisionEndID: 10, Vision: tinyVision(gen, out)}
	vl.RopeScaling.MropeSection = []int{2, 1, 1}
	if gen == Qwen2VL {
		vl.ModelType = "qwen2_vl"
	} else {
		vl.ModelType = "qwen2_5_vl"
	}
	return vl
}

func tinyVLM(t testing.TB, gen Generation, seed uint64) (*VLM[float64], *model.Params[float64], *Params[float64]) {
	rng := rand.New(rand.NewPCG(seed, 7))
	dp := model.NewParams[float64](tinyDecoder(16, 12))
	dp.InitRandom(rng)
	perturbVectors(dp.Tensors, dp.Data, rng)
	vl := tinyVL(gen, 16)
	vp := NewParams[float64](vl.Vision)
	vp.InitRandom(rng, 0.4)
	perturbVectors(vp.Tensors, vp.Data, rng)
	v, err := NewVLM(dp, vp, vl, &model.CPU[float64]{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return v, dp, vp
}

func tinyInputs(rng *rand.Rand, pd int) []Input[float64] {
	return []Input[float64]{
		{IDs: []int32{1, 9, 11, 11, 11, 11, 11, 11, 10, 3, 4}, Pixels: gradcheck.RandVec(rng, 24*pd, 1), Grids: []Grid{{1, 4, 6}}},
		{IDs: []int32{2, 9, 11, 10, 5}, Pixels: gradcheck.RandVec(rng, 4*pd, 1), Grids: []Grid{{1, 2, 2}}},
		{IDs: []int32{7, 8, 6}},
	}
}

// Whole tiny VLM (tower + merger + M-RoPE decoder, three sequences, two with images):
// gradients of decoder and tower parameters against central differences, both generations.
func TestVLMGradient(t *testing.T) {
	for _, gen := range []Generation{Qwen2VL, Qwen25VL} {
		t.Run(fmt.Sprint("gen", gen), func(t *testing.T) {
			v, dp, vp := tinyVLM(t, gen, 21+uint64(gen))
			rng := rand.New(rand.NewPCG(5, 5))
			in := tinyInputs(rng, vp.Cfg.PatchDim())
			n := 0
			for _, x := range in {
				n += len(x.IDs)
			}
			targets := make([]int32, n)
			for i := range targets {
				targets[i] = int32(rng.IntN(12))
			}
			coef := gradcheck.RandVec(rng, n, 1)
			loss := func() float64 {
				_, lp, _, err := v.ForwardLogProbs(in, targets, 0.9)
				if err != nil {
					t.Fatal(err)
				}
				return dotf(lp, coef)
			}
			a, _, _, err := v.ForwardLogProbs(in, targets, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			gd, gv := dp.ZerosLike(), vp.ZerosLike()
			v.BackwardLogProbs(a, targets, coef, 0.9, gd, gv)
			for _, part := range []struct {
				name   string
				data   []float64
				grad   []float64
				layout []model.ParamTensor
			}{{"decoder", dp.Data, gd.Data, dp.Tensors}, {"tower", vp.Data, gv.Data, vp.Tensors}} {
				num := gradcheck.NumGrad(part.data, loss)
				for _, tn := range part.layout {
					e := gradcheck.RelErr(part.grad[tn.Offset:tn.Offset+tn.Len()], num[tn.Offset:tn.Offset+tn.Len()])
					if e > 1e-6 || math.IsNaN(e) {
						t.Errorf("%s: relative error %.3g > 1e-6", tn.Name, e)
					}
				}
				e := gradcheck.RelErr(part.grad, num)
				t.Logf("%s: %d parameters, relative error %.3g (bound 1e-6)", part.name, len(part.data), e)
			}
			// A frozen tower (gv nil) leaves decoder gradients unchanged.
			a, _, _, _ = v.ForwardLogProbs(in, targets, 0.9)
			gd2 := dp.ZerosLike()
			v.BackwardLogProbs(a, targets, coef, 0.9, gd2, nil)
			for i := range gd2.Data {
				if gd2.Data[i] != gd.Data[i] {
					t.Fatal("frozen tower changed decoder gradients")
				}
			}
		})
	}
}

// KV-cache generation with images (prefill injection, M-RoPE decode positions with
// rope_delta) reproduces the full forward's greedy choices.
func TestVLMGenerateMatchesForward(t *testing.T) {
	for _, gen := range []Generation{Qwen2VL, Qwen25VL} {
		v, _, vp := tinyVLM(t, gen, 31)
		rng := rand.New(rand.NewPCG(9, 9))
		in := tinyInputs(rng, vp.Cfg.PatchDim())
		comps, err := v.Generate(context.Background(), in, model.SampleOptions{MaxNewTokens: 4}, rng)
		if err != nil {
			t.Fatal(err)
		}
		for s, c := range comps {
			full := Input[float64]{IDs: append(append([]int32(nil), in[s].IDs...), c.Tokens[:3]...), Pixels: in[s].Pixels, Grids: in[s].Grids}
			a, err := v.Forward([]Input[float64]{full})
			if err != nil {
				t.Fatal(err)
			}
			V := 12
			for j := range 4 {
				row := len(in[s].IDs) - 1 + j
				best := 0
				for i := 0; i < V; i++ {
					if a.Dec.Logits[row*V+i] > a.Dec.Logits[row*V+best] {
						best = i
					}
				}
				if int32(best) != c.Tokens[j] {
					t.Fatalf("gen %d prompt %d token %d: generated %d, full-forward argmax %d", gen, s, j, c.Tokens[j], best)
				}
			}
		}
	}
}

// Hand-worked get_rope_index: "a <vs> [2×3 merged image] <ve> b" → text 0, 1; image base 2
// with (t, row, col); text after resumes at max + 1 = 5; rope_delta = 7 − 10 = −3.
func TestRopeIndex(t *testing.T) {
	ids := []int32{1, 9, 11, 11, 11, 11, 11, 11, 10, 3}
	pos, delta, err := RopeIndex(ids, []Grid{{1, 4, 6}}, 11, 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [3]string{"[0 1 2 2 2 2 2 2 5 6]", "[0 1 2 2 2 3 3 3 5 6]", "[0 1 2 3 4 2 3 4 5 6]"}
	for k := range 3 {
		if fmt.Sprint(pos[k]) != want[k] {
			t.Errorf("row %d: %v, want %s", k, pos[k], want[k])
		}
	}
	if delta != -3 {
		t.Errorf("rope_delta %d, want −3", delta)
	}
	// Two images (the second 1×1 merged) with text in between; first a grid whose 8 merged
	// tokens do not fit the 4 pads.
	ids = []int32{9, 11, 11, 11, 11, 10, 5, 9, 11, 10}
	pos, _, err = RopeIndex(ids, []Grid{{1, 8, 4}, {1, 2, 2}}, 11, 9, 1)
	// Image 1 (2×2 merged) at base 1: max 2, so <vision_end> gets 3; image 2 (1×1) at 6.
	want = [3]string{"[0 1 1 1 1 3 4 5 6 7]", "[0 1 1 2 2 3 4 5 6 7]", "[0 1 2 1 2 3 4 5 6 7]"}
	// The first image is 4 merged rows × 2 columns = 8 tokens, not 4: a count mismatch.
	if err == nil {
		t.Fatalf("want a count error for an 8-token image over 4 pads, got %v", pos)
	}
	pos, delta, err = RopeIndex(ids, []Grid{{1, 4, 4}, {1, 2, 2}}, 11, 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		if fmt.Sprint(pos[k]) != want[k] {
			t.Errorf("two images row %d: %v, want %s", k, pos[k], want[k])
		}
	}
	if delta != 8-10 {
		t.Errorf("rope_delta %d, want −2", delta)
	}
	// Text only: 0…n−1 on all rows, delta 0.
	pos, delta, _ = RopeIndex([]int32{1, 2, 3}, nil, 11, 9, 1)
	if fmt.Sprint(pos[1]) != "[0 1 2]" || delta != 0 {
		t.Errorf("text only: %v %d", pos, delta)
	}
}

// Chat template expansion: one placeholder per image, then t·h·w/4 pads each.
func TestExpandImageText(t *testing.T) {
	text := "<|im_start|>user\n" + ImagePlaceholder + "Which side?<|im_end|>\n"
	got, err := ExpandImageText(text, []Grid{{1, 4, 6}})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>user\n<|vision_start|>" + "<|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|>" + "<|vision_end|>Which side?<|im_end|>\n"
	if got != want {
		t.Fatalf("got %q", got)
	}
	// Med-R1's 392×392 image: 196 pads.
	got, _ = ExpandImageText(ImagePlaceholder, []Grid{{1, 28, 28}})
	if n := len(got) - len(VisionStart) - len(VisionEnd); n != 196*len(ImagePad) {
		t.Fatalf("392×392: %d bytes of pads, want 196 pads", n)
	}
	if _, err := ExpandImageText(text, nil); err == nil {
		t.Fatal("a placeholder without an image must be an error")
	}
}
