// Package gradcheck holds the numerical tools the trainer's tests use to check hand-written
// backward passes against central finite differences in float64.
package gradcheck

import (
	"math"
	"math/rand/v2"
)

// Step is the finite-difference step of NumGrad.
const Step = 1e-6

// RelErr is the largest absolute difference between a and n, relative to the largest
// magnitude in either (at least 1e-12).
func RelErr(a, n []float64) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-n[i]))
		m = math.Max(m, math.Max(math.Abs(a[i]), math.Abs(n[i])))
	}
	return d / math.Max(m, 1e-12)
}

// NumGrad is the central-difference gradient of loss with respect to x, perturbing each
// element of x in place (and restoring it).
func NumGrad(x []float64, loss func() float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		old := x[i]
		x[i] = old + Step
		lp := loss()
		x[i] = old - Step
		lm := loss()
		x[i] = old
		g[i] = (lp - lm) / (2 * Step)
	}
	return g
}

// RandVec is n normal samples times scale.
func RandVec(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64() * scale
	}
	return v
}
