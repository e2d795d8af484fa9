package extract

import (
	"strconv"
)

// kind is the type of a content-stream operand.
type kind uint8

const (
	kNull kind = iota
	kNum
	kName
	kStr
	kArr
	kDict
	kBool
	kOp
)

// operand is one content-stream token: a number, name, string, array, dictionary (kept as
// alternating key/value operands), boolean or operator keyword.
type operand struct {
	k   kind
	num float64
	s   []byte    // name (without '/'), decoded string bytes, or operator keyword
	arr []operand // array elements; dictionary keys and values alternate
}

func (o operand) name() string { return string(o.s) }

// lexer tokenises a content stream (or a CMap, which shares the syntax).
type lexer struct {
	b   []byte
	pos int
}

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isWhite(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// next returns the next token; ok is false at the end of input. Nesting depth of arrays and
// dictionaries is bounded by depth.
func (l *lexer) next() (operand, bool) {
	return l.nextDepth(0)
}

const maxNesting = 64

func (l *lexer) nextDepth(depth int) (operand, bool) {
	l.skipSpace()
	if l.pos >= len(l.b) {
		return operand{}, false
	}
	c := l.b[l.pos]
	switch {
	case c == '/':
		l.pos++
		start := l.pos
		for l.pos < len(l.b) && !isWhite(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
			l.pos++
		}
		return operand{k: kName, s: unescapeName(l.b[start:l.pos])}, true
	case c == '(':
		l.pos++
		return operand{k: kStr, s: l.literal()}, true
	case c == '<':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '<' {
			l.pos += 2
			return l.container(depth, kDict, '>'), true
		}
		l.pos++
		return operand{k: kStr, s: l.hex()}, true
	case c == '[':
		l.pos++
		return l.container(depth, kArr, ']'), true
	case c == '{':
		l.pos++
		return l.container(depth, kArr, '}'), true
	case c == ']' || c == '>' || c == '}' || c == ')':
		l.pos++
		return operand{k: kOp, s: l.b[l.pos-1 : l.pos]}, true
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		start := l.pos
		l.pos++
		for l.pos < len(l.b) {
			c := l.b[l.pos]
			if (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' {
				l.pos++
				continue
			}
			break
		}
		return operand{k: kNum, num: parseNum(l.b[start:l.pos])}, true
	default:
		start := l.pos
		for l.pos < len(l.b) && !isWhite(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
			l.pos++
		}
		if l.pos == start { // a lone delimiter we do not know: skip it
			l.pos++
		}
		w := l.b[start:l.pos]
		switch string(w) {
		case "true":
			return operand{k: kBool, num: 1}, true
		case "false":
			return operand{k: kBool}, true
		case "null":
			return operand{k: kNull}, true
		}
		return operand{k: kOp, s: w}, true
	}
}

func (l *lexer) container(depth int, k kind, end byte) operand {
	o := operand{k: k}
	if depth >= maxNesting {
		// Skip to the matching close without building anything more.
		l.skipNested(end)
		return o
	}
	for {
		l.skipSpace()
		if l.pos >= len(l.b) {
			return o
		}
		c := l.b[l.pos]
		if c == end {
			l.pos++
			if end == '>' && l.pos < len(l.b) && l.b[l.pos] == '>' {
				l.pos++
			}
			return o
		}
		t, ok := l.nextDepth(depth + 1)
		if !ok {
			return o
		}
		if t.k == kOp && len(t.s) == 1 && (t.s[0] == ']' || t.s[0] == '>' || t.s[0] == '}') {
			return o // mismatched close
		}
		o.arr = append(o.arr, t)
	}
}

func (l *lexer) skipNested(end byte) {
	for l.pos < len(l.b) && l.b[l.pos] != end {
		l.pos++
	}
	if l.pos < len(l.b) {
		l.pos++
	}
}

func parseNum(b []byte) float64 {
	// Fast path for plain integers and decimals.
	neg := false
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
		for i < len(b) && (b[i] == '-' || b[i] == '+') { // "--5" happens in the wild
			i++
		}
	}
	var v float64
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + float64(b[i]-'0')
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		scale := 0.1
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			v += float64(b[i]-'0') * scale
			scale /= 10
			digits++
		}
	}
	if i < len(b) {
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f
		}
	}
	if neg {
		return -v
	}
	return v
}

func unescapeName(b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] == '#' {
			out := make([]byte, 0, len(b))
			for j := 0; j < len(b); j++ {
				if b[j] == '#' && j+2 < len(b) {
					h, l := unhex(b[j+1]), unhex(b[j+2])
					if h >= 0 && l >= 0 {
						out = append(out, byte(h<<4|l))
						j += 2
						continue
					}
				}
				out = append(out, b[j])
			}
			return out
		}
	}
	return b
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// literal reads a (string) after the opening parenthesis, decoding escapes.
func (l *lexer) literal() []byte {
	start := l.pos
	// Fast path: no escapes and balanced parentheses.
	depth := 0
	for i := start; i < len(l.b); i++ {
		c := l.b[i]
		if c == '\\' {
			break
		}
		if c == '(' {
			depth++
		} else if c == ')' {
			if depth == 0 {
				l.pos = i + 1
				return l.b[start:i]
			}
			depth--
		}
	}
	var out []byte
	depth = 0
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
			out = append(out, c)
		case ')':
			if depth == 0 {
				return out
			}
			depth--
			out = append(out, c)
		case '\\':
			if l.pos >= len(l.b) {
				return out
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					out = append(out, byte(v))
				} else {
					out = append(out, e)
				}
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

// hex reads a <hex string> after the opening angle bracket.
func (l *lexer) hex() []byte {
	out := make([]byte, 0, 8)
	hi := -1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		if c == '>' {
			break
		}
		v := unhex(c)
		if v < 0 {
			continue
		}
		if hi < 0 {
			hi = v
		} else {
			out = append(out, byte(hi<<4|v))
			hi = -1
		}
	}
	if hi >= 0 {
		out = append(out, byte(hi<<4))
	}
	return out
}
