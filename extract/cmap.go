package extract

import (
	"unicode/utf16"
)

// codeRange is a codespace range of one byte length, stored per byte.
type codeRange struct {
	n      int
	lo, hi [4]byte
}

type cidRange struct {
	lo, hi, cid uint32
}

type uniRange struct {
	lo, hi uint32
	dst    []rune // text of lo; the last rune is incremented across the range
}

// cmap is a parsed CMap: an encoding CMap (codes → CIDs) of a Type0 font, or a ToUnicode CMap
// (codes → text). Only the parts in use are filled.
type cmap struct {
	space     []codeRange
	cidSingle map[uint32]uint32
	cidRanges []cidRange
	uni       map[uint32]string
	uniRanges []uniRange
	wmode     int
	usecmap   string
}

// maxCMapEntries bounds the entries taken from one CMap (hostile files declare millions).
const maxCMapEntries = 1 << 17

// parseCMap reads CMap syntax: codespace ranges, cidchar/cidrange, bfchar/bfrange, WMode.
func parseCMap(data []byte) *cmap {
	cm := &cmap{cidSingle: map[uint32]uint32{}, uni: map[uint32]string{}}
	l := lexer{b: data}
	var stack []operand
	entries := 0
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		if t.k != kOp {
			stack = append(stack, t)
			if len(stack) > 4096 {
				stack = stack[len(stack)-8:]
			}
			continue
		}
		switch string(t.s) {
		case "endcodespacerange":
			for i := 0; i+1 < len(stack); i += 2 {
				lo, hi := stack[i].s, stack[i+1].s
				if stack[i].k != kStr || stack[i+1].k != kStr || len(lo) == 0 || len(lo) > 4 || len(hi) != len(lo) {
					continue
				}
				r := codeRange{n: len(lo)}
				copy(r.lo[:], lo)
				copy(r.hi[:], hi)
				cm.space = append(cm.space, r)
			}
		case "endcidchar":
			for i := 0; i+1 < len(stack) && entries < maxCMapEntries; i += 2 {
				if stack[i].k == kStr && stack[i+1].k == kNum {
					cm.cidSingle[codeValue(stack[i].s)] = uint32(max(0, stack[i+1].num))
					entries++
				}
			}
		case "endcidrange":
			for i := 0; i+2 < len(stack) && entries < maxCMapEntries; i += 3 {
				if stack[i].k == kStr && stack[i+1].k == kStr && stack[i+2].k == kNum {
					cm.cidRanges = append(cm.cidRanges, cidRange{codeValue(stack[i].s), codeValue(stack[i+1].s), uint32(max(0, stack[i+2].num))})
					entries++
				}
			}
		case "endbfchar":
			for i := 0; i+1 < len(stack) && entries < maxCMapEntries; i += 2 {
				if stack[i].k != kStr {
					continue
				}
				code := codeValue(stack[i].s)
				switch stack[i+1].k {
				case kStr:
					cm.uni[code] = utf16Text(stack[i+1].s)
				case kName:
					cm.uni[code] = glyphToUnicode(stack[i+1].name())
				}
				entries++
			}
		case "endbfrange":
			for i := 0; i+2 < len(stack) && entries < maxCMapEntries; i += 3 {
				if stack[i].k != kStr || stack[i+1].k != kStr {
					continue
				}
				lo, hi := codeValue(stack[i].s), codeValue(stack[i+1].s)
				if hi < lo {
					continue
				}
				switch d := stack[i+2]; d.k {
				case kStr:
					cm.uniRanges = append(cm.uniRanges, uniRange{lo: lo, hi: hi, dst: []rune(utf16Text(d.s))})
					entries++
				case kArr:
					for j, e := range d.arr {
						if uint32(j) > hi-lo || entries >= maxCMapEntries {
							break
						}
						if e.k == kStr {
							cm.uni[lo+uint32(j)] = utf16Text(e.s)
						}
						entries++
					}
				}
			}
		case "def":
			if len(stack) >= 2 && stack[len(stack)-2].k == kName && stack[len(stack)-2].name() == "WMode" && stack[len(stack)-1].k == kNum {
				cm.wmode = int(stack[len(stack)-1].num)
			}
		case "usecmap":
			if len(stack) > 0 && stack[len(stack)-1].k == kName {
				cm.usecmap = stack[len(stack)-1].name()
			}
		}
		stack = stack[:0]
	}
	return cm
}

func codeValue(b []byte) uint32 {
	var v uint32
	for i, c := range b {
		if i >= 4 {
			break
		}
		v = v<<8 | uint32(c)
	}
	return v
}

// utf16Text decodes a big-endian UTF-16 destination string of a ToUnicode CMap.
func utf16Text(b []byte) string {
	if len(b) == 1 {
		return expandLigature(rune(b[0]))
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return expandLigatures(string(utf16.Decode(u)))
}

// lookupUnicode returns the text of a code and whether the CMap defines it.
func (cm *cmap) lookupUnicode(code uint32) (string, bool) {
	if s, ok := cm.uni[code]; ok {
		return s, true
	}
	for _, r := range cm.uniRanges {
		if code >= r.lo && code <= r.hi && len(r.dst) > 0 {
			d := make([]rune, len(r.dst))
			copy(d, r.dst)
			d[len(d)-1] += rune(code - r.lo)
			return expandLigatures(string(d)), true
		}
	}
	return "", false
}

// cid maps a code to a CID (codes without a mapping give CID 0, as the spec asks).
func (cm *cmap) cid(code uint32) uint32 {
	if v, ok := cm.cidSingle[code]; ok {
		return v
	}
	for _, r := range cm.cidRanges {
		if code >= r.lo && code <= r.hi {
			return r.cid + (code - r.lo)
		}
	}
	return 0
}

// split returns the length in bytes of the code at the start of s, using the codespace
// ranges; without ranges (or without a match) it uses def bytes.
func (cm *cmap) split(s []byte, def int) int {
	if cm != nil && len(cm.space) > 0 {
		for n := 1; n <= 4 && n <= len(s); n++ {
			for _, r := range cm.space {
				if r.n != n {
					continue
				}
				match := true
				for i := 0; i < n; i++ {
					if s[i] < r.lo[i] || s[i] > r.hi[i] {
						match = false
						break
					}
				}
				if match {
					return n
				}
			}
		}
		// No range matches: take the shortest declared length, as viewers do.
		short := 4
		for _, r := range cm.space {
			short = min(short, r.n)
		}
		return max(1, min(short, len(s)))
	}
	return max(1, min(def, len(s)))
}
