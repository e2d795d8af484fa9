// Package grpo holds the GRPO/DAPO math of shared/reference/grpo.md on per-token values:
// group advantages, the clipped (optionally dual-clipped) policy-gradient loss, the k3 KL
// penalty with its clamps, the loss aggregation modes with their denominators, dynamic-sampling
// group filters and the learning-rate schedule. Everything here is float64 host code over
// per-token vectors; the model backends only see the resulting d(loss)/d(logp).
package grpo

import (
	"fmt"
	"math"
)

// Scale selects how advantages are normalised.
type Scale string

// Advantage normalisations.
const (
	// ScaleGroup divides by the group's unbiased std + eps (GRPO).
	ScaleGroup Scale = "group"
	// ScaleBatch divides by the unbiased std of the whole batch + eps (TRL scale_rewards="batch").
	ScaleBatch Scale = "batch"
	// ScaleNone only subtracts the group mean (Dr.GRPO).
	ScaleNone Scale = "none"
)

// Advantages computes A_i = (r_i − mean_g) / (std_g + eps) per group of groupSize consecutive
// rewards (std unbiased, N−1). NaN rewards (no reward function answered) are left out of the
// statistics and get A = 0. A group whose rewards are all equal gets A = 0; a group of one has
// std 0 (TRL), so its advantage is 0 too.
func Advantages(rewards []float64, groupSize int, scale Scale, eps float64) ([]float64, error) {
	if groupSize <= 0 || len(rewards)%groupSize != 0 {
		return nil, fmt.Errorf("advantages: %d rewards do not form groups of %d", len(rewards), groupSize)
	}
	switch scale {
	case ScaleGroup, ScaleBatch, ScaleNone:
	default:
		return nil, fmt.Errorf("advantages: unknown scale %q", scale)
	}
	adv := make([]float64, len(rewards))
	batchStd := 0.0
	if scale == ScaleBatch {
		_, batchStd = meanStd(rewards)
	}
	for g := 0; g < len(rewards); g += groupSize {
		grp := rewards[g : g+groupSize]
		mean, std := meanStd(grp)
		for i, r := range grp {
			if math.IsNaN(r) {
				continue
			}
			a := r - mean
			switch scale {
			case ScaleGroup:
				a /= std + eps
			case ScaleBatch:
				a /= batchStd + eps
			}
			adv[g+i] = a
		}
	}
	return adv, nil
}

// meanStd returns the mean and unbiased std of the non-NaN values (std 0 for fewer than two).
func meanStd(v []float64) (mean, std float64) {
	n := 0
	for _, x := range v {
		if !math.IsNaN(x) {
			mean += x
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	mean /= float64(n)
	if n < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		if !math.IsNaN(x) {
			ss += (x - mean) * (x - mean)
		}
	}
	return mean, math.Sqrt(ss / float64(n-1))
}

// Agg is a loss aggregation mode (grpo.md §6).
type Agg string

// Aggregation modes.
const (
	// TokenMean: Σ m·ℓ / N_tok over the whole optimizer mini-batch (DAPO; TRL dapo; verl, EasyR1 default).
	TokenMean Agg = "token-mean"
	// SeqMeanTokenMean: (1/B) Σ_i Σ_t m·ℓ / Σ_t m (original GRPO; TRL grpo; R1-V).
	SeqMeanTokenMean Agg = "seq-mean-token-mean"
	// SeqMeanTokenSum: (1/B) Σ_i Σ_t m·ℓ (verl).
	SeqMeanTokenSum Agg = "seq-mean-token-sum"
	// DrGRPO: Σ m·ℓ / (B · L_max) (TRL dr_grpo).
	DrGRPO Agg = "dr-grpo"
)

// LossConfig holds the policy-loss hyper-parameters.
type LossConfig struct {
	// ClipLow and ClipHigh are ε_low and ε_high (DAPO clip-higher: 0.2 and 0.28).
	ClipLow, ClipHigh float64
	// DualClip is c of dual-clip (verl/EasyR1: 3; must be > 1); 0 disables it.
	DualClip float64
	// ClampLogRatio clamps δ = logp − logp_old to [−20, 20] before exp (verl, EasyR1).
	ClampLogRatio bool
	// KLCoef is β of the k3 penalty (0: no reference model needed).
	KLCoef float64
	// KLClamp clamps d = logp_ref − logp to [−20, 20] and k3 to [−10, 10] (verl, EasyR1).
	KLClamp bool
	// Agg is the aggregation mode. The KL term is aggregated with the same weights, so TRL's
	// "β·k3 inside the per-token loss" and verl's "aggregate separately, then add β·KL" give the
	// same value and gradient.
	Agg Agg
	// MaxLen is L_max of Dr.GRPO (0: the longest completion of the mini-batch).
	MaxLen int
}

// Validate checks the configuration.
func (c *LossConfig) Validate() error {
	switch c.Agg {
	case TokenMean, SeqMeanTokenMean, SeqMeanTokenSum, DrGRPO:
	default:
		return fmt.Errorf("loss: unknown aggregation %q", c.Agg)
	}
	if c.ClipLow < 0 || c.ClipLow >= 1 || c.ClipHigh < 0 {
		return fmt.Errorf("loss: clip range [1−%g, 1+%g] invalid", c.ClipLow, c.ClipHigh)
	}
	if c.DualClip != 0 && c.DualClip <= 1 {
		return fmt.Errorf("loss: dual-clip constant %g must be > 1", c.DualClip)
	}
	if c.KLCoef < 0 {
		return fmt.Errorf("loss: negative KL coefficient")
	}
	return nil
}

// Seq is one completion's per-token values in a mini-batch.
type Seq struct {
	// LogP, OldLogP and RefLogP are log-probs of the completion tokens (temperature-scaled).
	// RefLogP may be nil when KLCoef is 0.
	LogP, OldLogP, RefLogP []float64
	// Mask is 1 for tokens in the loss (up to and including the first EOS), else 0.
	Mask []float64
	// Adv is the sequence's advantage.
	Adv float64
}

// Stats are the per-mini-batch diagnostics, averaged over active tokens.
type Stats struct {
	Loss, PGLoss, KL          float64
	ClipHigh, ClipLow, Dual   float64 // fractions of active tokens
	Tokens                    int
	MeanRatio, MaxAbsLogRatio float64
}

// Denominators fixes the aggregation denominators of one optimizer mini-batch when it is
// split into micro-batches: every micro-batch scales by the mini-batch totals.
type Denominators struct {
	// Tokens is N_tok of the whole mini-batch (token-mean).
	Tokens float64
	// Seqs is B of the whole mini-batch (sequence modes, Dr.GRPO).
	Seqs float64
	// MaxLen is L_max for Dr.GRPO.
	MaxLen float64
}

// CountDenominators measures the mini-batch totals (call it before any backward pass).
func CountDenominators(seqs []Seq, cfg LossConfig) Denominators {
	d := Denominators{Seqs: float64(len(seqs)), MaxLen: float64(cfg.MaxLen)}
	for _, s := range seqs {
		for _, m := range s.Mask {
			d.Tokens += m
		}
		if cfg.MaxLen == 0 {
			d.MaxLen = math.Max(d.MaxLen, float64(len(s.Mask)))
		}
	}
	return d
}

// tokenWeight is the aggregation weight of every active token of s.
func tokenWeight(s Seq, cfg LossConfig, d Denominators) float64 {
	switch cfg.Agg {
	case TokenMean:
		if d.Tokens == 0 {
			return 0
		}
		return 1 / d.Tokens
	case SeqMeanTokenMean:
		var n float64
		for _, m := range s.Mask {
			n += m
		}
		if n == 0 || d.Seqs == 0 {
			return 0
		}
		return 1 / (d.Seqs * n)
	case SeqMeanTokenSum:
		return 1 / d.Seqs
	case DrGRPO:
		return 1 / (d.Seqs * d.MaxLen)
	}
	return 0
}

// TokenLoss is the per-token loss ℓ and dℓ/dlogp, with flags for the statistics.
type TokenLoss struct {
	PG, DPG, K3, DK3                float64
	Ratio                           float64
	ClippedHigh, ClippedLow, Dualed bool
}

// PerToken evaluates the clipped policy loss and the k3 KL term for one token.
func PerToken(logp, oldLogp, refLogp, adv float64, cfg LossConfig) TokenLoss {
	var t TokenLoss
	delta := logp - oldLogp
	dDelta := 1.0
	if cfg.ClampLogRatio && (delta < -20 || delta > 20) {
		delta = math.Max(-20, math.Min(20, delta))
		dDelta = 0
	}
	rho := math.Exp(delta)
	t.Ratio = rho
	lo, hi := 1-cfg.ClipLow, 1+cfg.ClipHigh
	unclipped := -adv * rho
	clipped := -adv * math.Max(lo, math.Min(hi, rho))
	if unclipped >= clipped {
		t.PG, t.DPG = unclipped, -adv*rho*dDelta
	} else {
		// The clipped term is larger, so ρ is outside [lo, hi]: constant, no gradient.
		t.PG = clipped
		t.ClippedHigh = rho > hi
		t.ClippedLow = rho < lo
	}
	if cfg.DualClip > 0 && adv < 0 {
		if bound := -adv * cfg.DualClip; t.PG > bound {
			t.PG, t.DPG, t.Dualed = bound, 0, true
		}
	}
	if cfg.KLCoef != 0 {
		d := refLogp - logp
		dd := -1.0 // ∂d/∂logp
		if cfg.KLClamp && (d < -20 || d > 20) {
			d = math.Max(-20, math.Min(20, d))
			dd = 0
		}
		e := math.Exp(d)
		k3 := e - d - 1
		dk3 := (e - 1) * dd
		if cfg.KLClamp && (k3 < -10 || k3 > 10) {
			k3 = math.Max(-10, math.Min(10, k3))
			dk3 = 0
		}
		t.K3, t.DK3 = k3, dk3
	}
	return t
}

// Loss aggregates the per-token losses of a (micro-)batch with denominators d and returns the
// loss value, dLoss/dlogp per sequence and token, and statistics.
func Loss(seqs []Seq, cfg LossConfig, d Denominators) (float64, [][]float64, Stats, error) {
	if err := cfg.Validate(); err != nil {
		return 0, nil, Stats{}, err
	}
	var st Stats
	grads := make([][]float64, len(seqs))
	var loss float64
	for i, s := range seqs {
		n := len(s.Mask)
		if len(s.LogP) != n || len(s.OldLogP) != n || (cfg.KLCoef != 0 && len(s.RefLogP) != n) {
			return 0, nil, Stats{}, fmt.Errorf("loss: sequence %d: mask %d, logp %d, old %d, ref %d values", i, n, len(s.LogP), len(s.OldLogP), len(s.RefLogP))
		}
		w := tokenWeight(s, cfg, d)
		grads[i] = make([]float64, n)
		for t := 0; t < n; t++ {
			m := s.Mask[t]
			if m == 0 {
				continue
			}
			ref := 0.0
			if cfg.KLCoef != 0 {
				ref = s.RefLogP[t]
			}
			tl := PerToken(s.LogP[t], s.OldLogP[t], ref, s.Adv, cfg)
			loss += w * m * (tl.PG + cfg.KLCoef*tl.K3)
			grads[i][t] = w * m * (tl.DPG + cfg.KLCoef*tl.DK3)
			st.Tokens++
			st.PGLoss += tl.PG
			st.KL += tl.K3
			st.MeanRatio += tl.Ratio
			st.MaxAbsLogRatio = math.Max(st.MaxAbsLogRatio, math.Abs(s.LogP[t]-s.OldLogP[t]))
			if tl.ClippedHigh {
				st.ClipHigh++
			}
			if tl.ClippedLow {
				st.ClipLow++
			}
			if tl.Dualed {
				st.Dual++
			}
		}
	}
	st.Loss = loss
	if st.Tokens > 0 {
		n := float64(st.Tokens)
		st.PGLoss /= n
		st.KL /= n
		st.MeanRatio /= n
		st.ClipHigh /= n
		st.ClipLow /= n
		st.Dual /= n
	}
	return loss, grads, st, nil
}

// KeepGroups implements dynamic sampling's filter: a group (groupSize consecutive metric
// values) is kept when its values are not all equal (unbiased std > 0), or when it has a
// single member (verl recipe).
func KeepGroups(metric []float64, groupSize int) []bool {
	keep := make([]bool, len(metric)/groupSize)
	for g := range keep {
		grp := metric[g*groupSize : (g+1)*groupSize]
		_, std := meanStd(grp)
		keep[g] = groupSize == 1 || std > 0
	}
	return keep
}

// CompletionMask returns 1 for completion tokens up to and including the first stop token and
// 0 after it; when maskTruncated is true a completion without a stop token is masked entirely
// (overlong filtering).
func CompletionMask(tokens []int32, isStop func(int32) bool, maskTruncated bool) []float64 {
	m := make([]float64, len(tokens))
	for i, t := range tokens {
		m[i] = 1
		if isStop(t) {
			return m
		}
	}
	if maskTruncated {
		clear(m)
	}
	return m
}

// Schedule is linear warmup then cosine decay, as Hugging Face's
// get_cosine_schedule_with_warmup: the multiplier at optimizer step s (0-based) is s/W during
// warmup, then MinRatio + (1 − MinRatio)·½(1 + cos(π·progress)).
type Schedule struct {
	Warmup, Total int
	MinRatio      float64
}

// Factor returns the learning-rate multiplier for step s.
func (sc Schedule) Factor(s int) float64 {
	if s < sc.Warmup {
		return float64(s) / float64(max(1, sc.Warmup))
	}
	if sc.Total <= sc.Warmup {
		return 1
	}
	p := math.Min(1, float64(s-sc.Warmup)/float64(max(1, sc.Total-sc.Warmup)))
	return sc.MinRatio + (1-sc.MinRatio)*0.5*(1+math.Cos(math.Pi*p))
}

// ClipFactor returns the factor clip_grad_norm_ multiplies gradients by: min(1, max/(norm+1e-6)).
func ClipFactor(norm, maxNorm float64) float64 {
	if maxNorm <= 0 {
		return 1
	}
	return math.Min(1, maxNorm/(norm+1e-6))
}
