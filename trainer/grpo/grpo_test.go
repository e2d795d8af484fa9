package grpo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestAdvantages(t *testing.T) {
	s2 := math.Sqrt(0.5) // unbiased std of {1, 0}
	cases := []struct {
		name    string
		rewards []float64
		g       int
		scale   Scale
		eps     float64
		want    []float64
	}{
		{"group eps 1e-4", []float64{1, 0, 0, 1}, 2, ScaleGroup, 1e-4, []float64{0.5 / (s2 + 1e-4), -0.5 / (s2 + 1e-4), -0.5 / (s2 + 1e-4), 0.5 / (s2 + 1e-4)}},
		{"all equal → 0", []float64{2, 2, 2, 0, 1, 2}, 3, ScaleGroup, 1e-6, []float64{0, 0, 0, -1 / (1 + 1e-6), 0, 1 / (1 + 1e-6)}},
		{"Dr.GRPO", []float64{1, 0, 0, 0}, 4, ScaleNone, 1e-4, []float64{0.75, -0.25, -0.25, -0.25}},
		// batch std of {1,0,0,0}: mean 0.25, Σ(x−m)² = 0.75, /3 = 0.25 → std 0.5.
		{"batch std", []float64{1, 0, 0, 0}, 2, ScaleBatch, 0, []float64{0.5 / 0.5, -0.5 / 0.5, 0, 0}},
		{"group of one", []float64{3, 5}, 1, ScaleGroup, 1e-4, []float64{0, 0}},
		// NaN is left out: group {1, NaN, 0} has mean 0.5 and std √0.5 over the two values.
		{"NaN reward", []float64{1, math.NaN(), 0}, 3, ScaleGroup, 0, []float64{0.5 / s2, 0, -0.5 / s2}},
	}
	for _, c := range cases {
		got, err := Advantages(c.rewards, c.g, c.scale, c.eps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if !near(got[i], c.want[i], 1e-12) {
				t.Errorf("%s: A[%d] = %g, want %g", c.name, i, got[i], c.want[i])
			}
		}
	}
	if _, err := Advantages([]float64{1, 2, 3}, 2, ScaleGroup, 0); err == nil {
		t.Error("ragged groups accepted")
	}
}

func TestPerTokenClipCases(t *testing.T) {
	dapo := LossConfig{ClipLow: 0.2, ClipHigh: 0.28, Agg: TokenMean}
	dual := dapo
	dual.DualClip = 3
	clamp := dual
	clamp.ClampLogRatio = true
	cases := []struct {
		name               string
		cfg                LossConfig
		adv, rho           float64
		loss, grad         float64
		high, low, dualHit bool
	}{
		{"A>0 ρ above 1+εh: clipped, no gradient", dapo, 1, 1.5, -1.28, 0, true, false, false},
		{"A>0 ρ below 1−εl: unclipped", dapo, 1, 0.5, -0.5, -0.5, false, false, false},
		{"A<0 ρ below 1−εl: clipped", dapo, -1, 0.5, 0.8, 0, false, true, false},
		{"A<0 ρ above 1+εh: unclipped", dapo, -1, 1.5, 1.5, 1.5, false, false, false},
		{"A<0 ρ=1.5 dual c=3: below bound", dual, -1, 1.5, 1.5, 1.5, false, false, false},
		{"A<0 ρ=4 dual c=3: capped at −A·c", dual, -1, 4, 3, 0, false, false, true},
		{"A>0 ρ=4 dual: dual only for A<0", dual, 1, 4, -1.28, 0, true, false, false},
		{"in range", dapo, 2, 1, -2, -2, false, false, false},
		{"A<0 ρ=4 no dual", dapo, -1, 4, 4, 4, false, false, false},
	}
	for _, c := range cases {
		tl := PerToken(math.Log(c.rho), 0, 0, c.adv, c.cfg)
		if !near(tl.PG, c.loss, 1e-12) || !near(tl.DPG, c.grad, 1e-12) || tl.ClippedHigh != c.high || tl.ClippedLow != c.low || tl.Dualed != c.dualHit {
			t.Errorf("%s: got loss %g grad %g high %v low %v dual %v", c.name, tl.PG, tl.DPG, tl.ClippedHigh, tl.ClippedLow, tl.Dualed)
		}
	}
	// δ = 25 clamped to 20: ρ = e²⁰, A = −1, no dual: loss e²⁰ and no gradient through the clamp.
	clamp.DualClip = 0
	tl := PerToken(25, 0, 0, -1, clamp)
	if !near(tl.PG, math.Exp(20), 1e-12) || tl.DPG != 0 {
		t.Errorf("clamped log-ratio: loss %g grad %g", tl.PG, tl.DPG)
	}
}

func TestKL(t *testing.T) {
	cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.2, KLCoef: 1, Agg: TokenMean}
	// logp −1, ref −2: d = −1, k3 = e⁻¹ + 1 − 1, dk3/dlogp = 1 − e⁻¹.
	tl := PerToken(-1, -1, -2, 0, cfg)
	if !near(tl.K3, math.Exp(-1), 1e-12) || !near(tl.DK3, 1-math.Exp(-1), 1e-12) {
		t.Errorf("k3 %g dk3 %g", tl.K3, tl.DK3)
	}
	// d = 3 without clamps: k3 = e³ − 4.
	tl = PerToken(0, 0, 3, 0, cfg)
	if !near(tl.K3, math.Exp(3)-4, 1e-12) || !near(tl.DK3, -(math.Exp(3)-1), 1e-12) {
		t.Errorf("unclamped k3 %g dk3 %g", tl.K3, tl.DK3)
	}
	cfg.KLClamp = true
	// d = 3: k3 = 16.09 > 10 → clamped to 10, no gradient.
	tl = PerToken(0, 0, 3, 0, cfg)
	if tl.K3 != 10 || tl.DK3 != 0 {
		t.Errorf("k3 clamp: %g %g", tl.K3, tl.DK3)
	}
	// d = −25 → −20: k3 = e⁻²⁰ + 19 → 10.
	tl = PerToken(0, 0, -25, 0, cfg)
	if tl.K3 != 10 || tl.DK3 != 0 {
		t.Errorf("d clamp: %g %g", tl.K3, tl.DK3)
	}
	// d = −2 within both clamps: k3 = e⁻² + 1 = 1.135.
	tl = PerToken(0, 0, -2, 0, cfg)
	if !near(tl.K3, math.Exp(-2)+1, 1e-12) || !near(tl.DK3, 1-math.Exp(-2), 1e-12) {
		t.Errorf("k3 in range: %g %g", tl.K3, tl.DK3)
	}
}

// Two sequences with ρ ≡ 1: seq 1 has A = 1 and three active tokens (per-token loss −1),
// seq 2 has A = −0.5, mask [1 1 0 0] (per-token loss 0.5).
func aggBatch() []Seq {
	return []Seq{
		{LogP: []float64{-1, -2, -3}, OldLogP: []float64{-1, -2, -3}, Mask: []float64{1, 1, 1}, Adv: 1},
		{LogP: []float64{-1, -1, -1, -1}, OldLogP: []float64{-1, -1, -1, -1}, Mask: []float64{1, 1, 0, 0}, Adv: -0.5},
	}
}

func TestAggregationModes(t *testing.T) {
	cases := []struct {
		agg          Agg
		loss, g1, g2 float64
	}{
		{TokenMean, (-3 + 1) / 5.0, -1 / 5.0, 0.5 / 5},              // N_tok = 5
		{SeqMeanTokenMean, 0.5 * (-3/3.0 + 1/2.0), -1 / 6.0, 0.125}, // (1/B) Σ_i mean_i
		{SeqMeanTokenSum, 0.5 * (-3 + 1), -0.5, 0.25},
		{DrGRPO, (-3 + 1) / (2 * 4.0), -1 / 8.0, 0.5 / 8}, // B·L_max = 2·4
	}
	for _, c := range cases {
		cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.28, Agg: c.agg}
		b := aggBatch()
		loss, g, st, err := Loss(b, cfg, CountDenominators(b, cfg))
		if err != nil {
			t.Fatal(err)
		}
		if !near(loss, c.loss, 1e-12) || !near(g[0][1], c.g1, 1e-12) || !near(g[1][0], c.g2, 1e-12) || g[1][2] != 0 {
			t.Errorf("%s: loss %g grads %v, want %g, %g, %g", c.agg, loss, g, c.loss, c.g1, c.g2)
		}
		if st.Tokens != 5 || st.MeanRatio != 1 {
			t.Errorf("%s: stats %+v", c.agg, st)
		}
	}
	// Splitting the mini-batch into micro-batches with the mini-batch denominators gives the
	// same total loss and gradients.
	for _, agg := range []Agg{TokenMean, SeqMeanTokenMean, SeqMeanTokenSum, DrGRPO} {
		cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.28, Agg: agg}
		b := aggBatch()
		d := CountDenominators(b, cfg)
		whole, gw, _, _ := Loss(b, cfg, d)
		l1, g1, _, _ := Loss(b[:1], cfg, d)
		l2, g2, _, _ := Loss(b[1:], cfg, d)
		if !near(l1+l2, whole, 1e-12) || g1[0][0] != gw[0][0] || g2[0][1] != gw[1][1] {
			t.Errorf("%s: micro-batches %g + %g ≠ %g", agg, l1, l2, whole)
		}
	}
}

// The gradient Loss returns matches central differences of its value (away from the kinks).
func TestLossGradientNumeric(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.28, DualClip: 3, ClampLogRatio: true, KLCoef: 0.04, KLClamp: true, Agg: SeqMeanTokenMean}
	var b []Seq
	for i := 0; i < 4; i++ {
		n := 2 + i
		s := Seq{Adv: rng.NormFloat64(), Mask: make([]float64, n)}
		for t := 0; t < n; t++ {
			s.OldLogP = append(s.OldLogP, -rng.Float64()*3)
			s.LogP = append(s.LogP, s.OldLogP[t]+rng.NormFloat64()*0.4)
			s.RefLogP = append(s.RefLogP, s.OldLogP[t]+rng.NormFloat64()*0.5)
			s.Mask[t] = 1
		}
		s.Mask[n-1] = 0
		b = append(b, s)
	}
	d := CountDenominators(b, cfg)
	_, g, st, err := Loss(b, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for i := range b {
		for tk := range b[i].LogP {
			old := b[i].LogP[tk]
			b[i].LogP[tk] = old + h
			lp, _, _, _ := Loss(b, cfg, d)
			b[i].LogP[tk] = old - h
			lm, _, _, _ := Loss(b, cfg, d)
			b[i].LogP[tk] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-g[i][tk]) > 1e-7 {
				t.Errorf("seq %d token %d: analytic %g numeric %g", i, tk, g[i][tk], num)
			}
		}
	}
	t.Logf("stats: %+v", st)
}

func TestKeepGroupsAndMask(t *testing.T) {
	keep := KeepGroups([]float64{1, 1, 0, 1, 0.5, 0.5}, 2)
	if keep[0] || !keep[1] || keep[2] {
		t.Errorf("keep %v", keep)
	}
	if k := KeepGroups([]float64{1, 1}, 1); !k[0] || !k[1] {
		t.Errorf("groups of one must be kept: %v", k)
	}
	isEOS := func(t int32) bool { return t == 9 }
	m := CompletionMask([]int32{5, 7, 9, 3}, isEOS, true)
	if m[0] != 1 || m[2] != 1 || m[3] != 0 {
		t.Errorf("mask %v", m)
	}
	if m := CompletionMask([]int32{5, 7}, isEOS, true); m[0] != 0 || m[1] != 0 {
		t.Errorf("truncated completion not masked: %v", m)
	}
	if m := CompletionMask([]int32{5, 7}, isEOS, false); m[0] != 1 || m[1] != 1 {
		t.Errorf("truncated completion masked without overlong filtering: %v", m)
	}
}

func TestSchedule(t *testing.T) {
	sc := Schedule{Warmup: 10, Total: 110}
	for _, c := range []struct{ s, want float64 }{{0, 0}, {5, 0.5}, {10, 1}, {60, 0.5}, {110, 0}, {200, 0}} {
		if got := sc.Factor(int(c.s)); !near(got, c.want, 1e-12) {
			t.Errorf("Factor(%g) = %g, want %g", c.s, got, c.want)
		}
	}
	sc.MinRatio = 0.1
	if got := sc.Factor(60); !near(got, 0.55, 1e-12) {
		t.Errorf("min ratio: %g", got)
	}
	if got := ClipFactor(10, 1); !near(got, 1/(10+1e-6), 1e-15) {
		t.Errorf("clip factor %g", got)
	}
	if ClipFactor(0.5, 1) != 1 {
		t.Error("no clipping below the bound")
	}
}
