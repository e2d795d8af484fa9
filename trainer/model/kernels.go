package model

// Register-blocked inner kernels of the CPU matmuls. Every output element accumulates its
// terms in the same order whichever kernel computes it, so results do not depend on how work
// is split between goroutines.

// dotSeq is Σ a[i]·b[i] with one accumulator, in index order.
func dotSeq[T Float](a, b []T) T {
	b = b[:len(a)]
	var s T
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// dot2x4 computes the 8 dot products of rows x0, x1 with rows w0…w3 (same order as dotSeq).
func dot2x4[T Float](x0, x1, w0, w1, w2, w3 []T) (r [8]T) {
	n := len(x0)
	x1, w0, w1, w2, w3 = x1[:n], w0[:n], w1[:n], w2[:n], w3[:n]
	var s00, s01, s02, s03, s10, s11, s12, s13 T
	for i := 0; i < n; i++ {
		a, b := x0[i], x1[i]
		c0, c1, c2, c3 := w0[i], w1[i], w2[i], w3[i]
		s00 += a * c0
		s01 += a * c1
		s02 += a * c2
		s03 += a * c3
		s10 += b * c0
		s11 += b * c1
		s12 += b * c2
		s13 += b * c3
	}
	return [8]T{s00, s01, s02, s03, s10, s11, s12, s13}
}

// dot1x4 is dot2x4 for a single row.
func dot1x4[T Float](x0, w0, w1, w2, w3 []T) (r [4]T) {
	n := len(x0)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	var s0, s1, s2, s3 T
	for i := 0; i < n; i++ {
		a := x0[i]
		s0 += a * w0[i]
		s1 += a * w1[i]
		s2 += a * w2[i]
		s3 += a * w3[i]
	}
	return [4]T{s0, s1, s2, s3}
}

// acc2x4: d0 += c0·s0 + c1·s1 + c2·s2 + c3·s3 and d1 += c4·s0 + … + c7·s3, elementwise.
func acc2x4[T Float](d0, d1, s0, s1, s2, s3 []T, c [8]T) {
	n := len(d0)
	d1, s0, s1, s2, s3 = d1[:n], s0[:n], s1[:n], s2[:n], s3[:n]
	for i := 0; i < n; i++ {
		a, b, e, f := s0[i], s1[i], s2[i], s3[i]
		d0[i] += c[0]*a + c[1]*b + c[2]*e + c[3]*f
		d1[i] += c[4]*a + c[5]*b + c[6]*e + c[7]*f
	}
}

// acc1x4 is acc2x4 for one destination.
func acc1x4[T Float](d0, s0, s1, s2, s3 []T, c0, c1, c2, c3 T) {
	n := len(d0)
	s0, s1, s2, s3 = s0[:n], s1[:n], s2[:n], s3[:n]
	for i := 0; i < n; i++ {
		d0[i] += c0*s0[i] + c1*s1[i] + c2*s2[i] + c3*s3[i]
	}
}

// accRows adds Σ_k coef(dst, k)·src[k] into each destination row, four sources at a time and
// two destinations at a time. dst(j) and src(k) return rows; coef(j, k) the coefficient.
func accRows[T Float](nDst, nSrc int, dst, src func(int) []T, coef func(j, k int) T, zero T) {
	j := 0
	for ; j+2 <= nDst; j += 2 {
		d0, d1 := dst(j), dst(j+1)
		k := 0
		for ; k+4 <= nSrc; k += 4 {
			c := [8]T{coef(j, k), coef(j, k+1), coef(j, k+2), coef(j, k+3), coef(j+1, k), coef(j+1, k+1), coef(j+1, k+2), coef(j+1, k+3)}
			if c == [8]T{} {
				continue
			}
			acc2x4(d0, d1, src(k), src(k+1), src(k+2), src(k+3), c)
		}
		for ; k < nSrc; k++ {
			s := src(k)
			acc1x4(d0, s, s, s, s, coef(j, k), zero, zero, zero)
			acc1x4(d1, s, s, s, s, coef(j+1, k), zero, zero, zero)
		}
	}
	for ; j < nDst; j++ {
		d0 := dst(j)
		k := 0
		for ; k+4 <= nSrc; k += 4 {
			c0, c1, c2, c3 := coef(j, k), coef(j, k+1), coef(j, k+2), coef(j, k+3)
			if c0 == 0 && c1 == 0 && c2 == 0 && c3 == 0 {
				continue
			}
			acc1x4(d0, src(k), src(k+1), src(k+2), src(k+3), c0, c1, c2, c3)
		}
		for ; k < nSrc; k++ {
			s := src(k)
			acc1x4(d0, s, s, s, s, coef(j, k), zero, zero, zero)
		}
	}
}
