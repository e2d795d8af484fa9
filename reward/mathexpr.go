package reward

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// value is a number: exact (a rational) unless sqrt or pi made it irrational.
type value struct {
	exact bool
	rat   *big.Rat
	f     float64
}

func (v value) float() float64 {
	if v.exact {
		f, _ := v.rat.Float64()
		return f
	}
	return v.f
}

func exactV(r *big.Rat) value { return value{exact: true, rat: r} }
func floatV(f float64) value  { return value{f: f} }

// evalExpr evaluates a constant arithmetic expression: numbers, + - * / ^, parentheses,
// implicit multiplication ("2(3)", "2sqrt(2)"), sqrt(…) and pi. Anything else is an error, as
// is nesting deeper than MaxMathDepth. Exact values stay within maxExactBits (beyond, float64),
// so every step costs a bounded amount and the whole is linear in len(s).
func evalExpr(s string) (value, error) {
	p := &exprParser{s: strings.ReplaceAll(s, "**", "^")}
	v, err := p.sum()
	if err != nil {
		return value{}, err
	}
	p.skip()
	if p.i != len(p.s) {
		return value{}, fmt.Errorf("unexpected %q at %d", p.s[p.i:], p.i)
	}
	return v, nil
}

type exprParser struct {
	s     string
	i     int
	depth int // of nested parentheses, sqrt and unary signs
}

var errTooDeep = fmt.Errorf("nested deeper than %d", MaxMathDepth)

// enter counts one level of nesting; leave undoes it.
func (p *exprParser) enter() error {
	if p.depth++; p.depth > MaxMathDepth {
		return errTooDeep
	}
	return nil
}

func (p *exprParser) leave() { p.depth-- }

func (p *exprParser) skip() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *exprParser) peek() byte {
	p.skip()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *exprParser) sum() (value, error) {
	v, err := p.product()
	if err != nil {
		return v, err
	}
	for {
		switch op := p.peek(); op {
		case '+', '-':
			p.i++
			w, err := p.product()
			if err != nil {
				return v, err
			}
			v = arith(op, v, w)
		default:
			return v, nil
		}
	}
}

func (p *exprParser) product() (value, error) {
	v, err := p.unary()
	if err != nil {
		return v, err
	}
	for {
		op := p.peek()
		switch {
		case op == '*' || op == '/':
			p.i++
			w, err := p.unary()
			if err != nil {
				return v, err
			}
			if op == '/' && w.float() == 0 {
				return v, fmt.Errorf("division by zero")
			}
			v = arith(op, v, w)
		case op == '(' || op == 's' || op == 'p' || (op >= '0' && op <= '9') || op == '.':
			w, err := p.power()
			if err != nil {
				return v, err
			}
			v = arith('*', v, w)
		default:
			return v, nil
		}
	}
}

func (p *exprParser) unary() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	defer p.leave()
	switch p.peek() {
	case '-':
		p.i++
		v, err := p.unary()
		return arith('-', exactV(new(big.Rat)), v), err
	case '+':
		p.i++
		return p.unary()
	}
	return p.power()
}

func (p *exprParser) power() (value, error) {
	b, err := p.atom()
	if err != nil {
		return b, err
	}
	if p.peek() != '^' {
		return b, nil
	}
	p.i++
	e, err := p.unary()
	if err != nil {
		return b, err
	}
	if e.exact && e.rat.IsInt() && b.exact && e.rat.Num().IsInt64() && math.Abs(float64(e.rat.Num().Int64())) <= 64 {
		n := e.rat.Num().Int64()
		if bits(b.rat)*int(abs64(n)) > maxExactBits {
			return floatV(math.Pow(b.float(), e.float())), nil
		}
		r := new(big.Rat).SetInt64(1)
		for k := int64(0); k < abs64(n); k++ {
			r.Mul(r, b.rat)
		}
		if n < 0 {
			if r.Sign() == 0 {
				return b, fmt.Errorf("division by zero")
			}
			r.Inv(r)
		}
		return exactV(r), nil
	}
	return floatV(math.Pow(b.float(), e.float())), nil
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (p *exprParser) atom() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	defer p.leave()
	c := p.peek()
	switch {
	case c == '(':
		p.i++
		v, err := p.sum()
		if err != nil {
			return v, err
		}
		if p.peek() != ')' {
			return v, fmt.Errorf("missing )")
		}
		p.i++
		return v, nil
	case strings.HasPrefix(p.s[p.i:], "sqrt"):
		p.i += 4
		v, err := p.atom()
		if err != nil {
			return v, err
		}
		if v.float() < 0 {
			return v, fmt.Errorf("sqrt of a negative number")
		}
		if v.exact {
			if r, ok := exactSqrt(v.rat); ok {
				return exactV(r), nil
			}
		}
		return floatV(math.Sqrt(v.float())), nil
	case strings.HasPrefix(p.s[p.i:], "pi"):
		p.i += 2
		return floatV(math.Pi), nil
	case c >= '0' && c <= '9' || c == '.':
		j := p.i
		for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '.') {
			j++
		}
		if j-p.i > maxExactBits/3 { // more digits than maxExactBits can hold
			f, err := strconv.ParseFloat(p.s[p.i:j], 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return value{}, fmt.Errorf("bad number %q", p.s[p.i:j])
			}
			p.i = j
			return floatV(f), nil
		}
		r, ok := new(big.Rat).SetString(p.s[p.i:j])
		if !ok {
			return value{}, fmt.Errorf("bad number %q", p.s[p.i:j])
		}
		p.i = j
		return exact(r), nil
	}
	if c != 0 && unicode.IsLetter(rune(c)) {
		return value{}, fmt.Errorf("variables are not evaluated")
	}
	return value{}, fmt.Errorf("unexpected %q", string(c))
}

func exactSqrt(r *big.Rat) (*big.Rat, bool) {
	if r.Sign() < 0 {
		return nil, false
	}
	n, d := new(big.Int).Sqrt(r.Num()), new(big.Int).Sqrt(r.Denom())
	if new(big.Int).Mul(n, n).Cmp(r.Num()) != 0 || new(big.Int).Mul(d, d).Cmp(r.Denom()) != 0 {
		return nil, false
	}
	return new(big.Rat).SetFrac(n, d), true
}

// bits is the size of r: the bits of its numerator and denominator.
func bits(r *big.Rat) int { return r.Num().BitLen() + r.Denom().BitLen() }

// exact is exactV(r), or r in float64 when it is larger than maxExactBits.
func exact(r *big.Rat) value {
	if bits(r) > maxExactBits {
		f, _ := r.Float64()
		return floatV(f)
	}
	return exactV(r)
}

func arith(op byte, a, b value) value {
	if a.exact && b.exact {
		r := new(big.Rat)
		switch op {
		case '+':
			r.Add(a.rat, b.rat)
		case '-':
			r.Sub(a.rat, b.rat)
		case '*':
			r.Mul(a.rat, b.rat)
		case '/':
			r.Quo(a.rat, b.rat)
		}
		return exact(r)
	}
	x, y := a.float(), b.float()
	switch op {
	case '+':
		return floatV(x + y)
	case '-':
		return floatV(x - y)
	case '*':
		return floatV(x * y)
	}
	return floatV(x / y)
}
