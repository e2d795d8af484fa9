package extract

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// glyphNames maps Adobe glyph names (as used in font Encodings and Differences arrays) to
// Unicode. It covers Latin-1 and the Windows/Mac/Standard encodings, ligatures, Greek, common
// mathematical symbols and the names TeX fonts use. Names of the form uniXXXX, uXXXX[XX],
// gXX/cidXX and name.suffix are handled by glyphToUnicode.
var glyphNames = parseGlyphTable(`
space 0020 exclam 0021 quotedbl 0022 numbersign 0023 dollar 0024 percent 0025 ampersand 0026
quotesingle 0027 quoteright 2019 parenleft 0028 parenright 0029 asterisk 002A plus 002B comma 002C
hyphen 002D period 002E slash 002F zero 0030 one 0031 two 0032 three 0033 four 0034 five 0035
six 0036 seven 0037 eight 0038 nine 0039 colon 003A semicolon 003B less 003C equal 003D
greater 003E question 003F at 0040 bracketleft 005B backslash 005C bracketright 005D
asciicircum 005E underscore 005F grave 0060 quoteleft 2018 braceleft 007B bar 007C braceright 007D
asciitilde 007E exclamdown 00A1 cent 00A2 sterling 00A3 fraction 2044 yen 00A5 florin 0192
section 00A7 currency 00A4 quotedblleft 201C guillemotleft 00AB guilsinglleft 2039
guilsinglright 203A fi FB01 fl FB02 ff FB00 ffi FB03 ffl FB04 endash 2013 dagger 2020
daggerdbl 2021 periodcentered 00B7 paragraph 00B6 bullet 2022 quotesinglbase 201A
quotedblbase 201E quotedblright 201D guillemotright 00BB ellipsis 2026 perthousand 2030
questiondown 00BF acute 00B4 circumflex 02C6 tilde 02DC macron 00AF breve 02D8 dotaccent 02D9
dieresis 00A8 ring 02DA cedilla 00B8 hungarumlaut 02DD ogonek 02DB caron 02C7 emdash 2014
AE 00C6 ordfeminine 00AA Lslash 0141 Oslash 00D8 OE 0152 ordmasculine 00BA ae 00E6
dotlessi 0131 dotlessj 0237 lslash 0142 oslash 00F8 oe 0153 germandbls 00DF Euro 20AC
trademark 2122 registered 00AE copyright 00A9 degree 00B0 plusminus 00B1 multiply 00D7
divide 00F7 logicalnot 00AC brokenbar 00A6 mu 03BC mu1 00B5 onesuperior 00B9 twosuperior 00B2
threesuperior 00B3 onequarter 00BC onehalf 00BD threequarters 00BE minus 2212 nbspace 00A0
sfthyphen 00AD Agrave 00C0 Aacute 00C1 Acircumflex 00C2 Atilde 00C3 Adieresis 00C4 Aring 00C5
Ccedilla 00C7 Egrave 00C8 Eacute 00C9 Ecircumflex 00CA Edieresis 00CB Igrave 00CC Iacute 00CD
Icircumflex 00CE Idieresis 00CF Eth 00D0 Ntilde 00D1 Ograve 00D2 Oacute 00D3 Ocircumflex 00D4
Otilde 00D5 Odieresis 00D6 Ugrave 00D9 Uacute 00DA Ucircumflex 00DB Udieresis 00DC Yacute 00DD
Thorn 00DE agrave 00E0 aacute 00E1 acircumflex 00E2 atilde 00E3 adieresis 00E4 aring 00E5
ccedilla 00E7 egrave 00E8 eacute 00E9 ecircumflex 00EA edieresis 00EB igrave 00EC iacute 00ED
icircumflex 00EE idieresis 00EF eth 00F0 ntilde 00F1 ograve 00F2 oacute 00F3 ocircumflex 00F4
otilde 00F5 odieresis 00F6 ugrave 00F9 uacute 00FA ucircumflex 00FB udieresis 00FC yacute 00FD
thorn 00FE ydieresis 00FF Ydieresis 0178 Scaron 0160 scaron 0161 Zcaron 017D zcaron 017E
Amacron 0100 amacron 0101 Abreve 0102 abreve 0103 Aogonek 0104 aogonek 0105 Cacute 0106
cacute 0107 Ccaron 010C ccaron 010D Dcaron 010E dcaron 010F Dcroat 0110 dcroat 0111
Emacron 0112 emacron 0113 Edotaccent 0116 edotaccent 0117 Eogonek 0118 eogonek 0119
Ecaron 011A ecaron 011B Gbreve 011E gbreve 011F Idotaccent 0130 Imacron 012A imacron 012B
Iogonek 012E iogonek 012F Lacute 0139 lacute 013A Lcaron 013D lcaron 013E Nacute 0143
nacute 0144 Ncaron 0147 ncaron 0148 Omacron 014C omacron 014D Ohungarumlaut 0150
ohungarumlaut 0151 Racute 0154 racute 0155 Rcaron 0158 rcaron 0159 Sacute 015A sacute 015B
Scedilla 015E scedilla 015F Tcaron 0164 tcaron 0165 Tcedilla 0162 tcedilla 0163 Umacron 016A
umacron 016B Uring 016E uring 016F Uhungarumlaut 0170 uhungarumlaut 0171 Uogonek 0172
uogonek 0173 Zacute 0179 zacute 017A Zdotaccent 017B zdotaccent 017C Eng 014A eng 014B
IJ 0132 ij 0133 napostrophe 0149 kgreenlandic 0138 Ldot 013F ldot 0140
Alpha 0391 Beta 0392 Gamma 0393 Delta 2206 Epsilon 0395 Zeta 0396 Eta 0397 Theta 0398
Iota 0399 Kappa 039A Lambda 039B Mu 039C Nu 039D Xi 039E Omicron 039F Pi 03A0 Rho 03A1
Sigma 03A3 Tau 03A4 Upsilon 03A5 Phi 03A6 Chi 03A7 Psi 03A8 Omega 2126 Upsilon1 03D2
alpha 03B1 beta 03B2 gamma 03B3 delta 03B4 epsilon 03B5 zeta 03B6 eta 03B7 theta 03B8
iota 03B9 kappa 03BA lambda 03BB nu 03BD xi 03BE omicron 03BF pi 03C0 rho 03C1 sigma 03C3
sigma1 03C2 tau 03C4 upsilon 03C5 phi 03C6 chi 03C7 psi 03C8 omega 03C9 theta1 03D1 phi1 03D5
omega1 03D6 epsilon1 03F5 rho1 03F1 vartheta 03D1 varphi 03C6 varepsilon 03B5 varpi 03D6
varrho 03F1 varsigma 03C2
lessequal 2264 greaterequal 2265 notequal 2260 approxequal 2248 equivalence 2261
infinity 221E proportional 221D partialdiff 2202 gradient 2207 nabla 2207 summation 2211
product 220F integral 222B radical 221A similar 223C congruent 2245 element 2208
notelement 2209 intersection 2229 union 222A propersubset 2282 propersuperset 2283
reflexsubset 2286 reflexsuperset 2287 logicaland 2227 logicalor 2228 universal 2200
existential 2203 emptyset 2205 angle 2220 therefore 2234 perpendicular 22A5 dotmath 22C5
arrowleft 2190 arrowup 2191 arrowright 2192 arrowdown 2193 arrowboth 2194 arrowupdn 2195
arrowdblleft 21D0 arrowdblup 21D1 arrowdblright 21D2 arrowdbldown 21D3 arrowdblboth 21D4
aleph 2135 weierstrass 2118 Ifraktur 2111 Rfraktur 211C lozenge 25CA spade 2660 club 2663
heart 2665 diamond 2666 minute 2032 second 2033 circlemultiply 2297 circleplus 2295
angleleft 2329 angleright 232A bracketlefttp 23A1 bracketleftbt 23A3 parenlefttp 239B
parenleftbt 239D asteriskmath 2217 openbullet 25E6 onedotenleader 2024 twodotenleader 2025
figuredash 2012 quoteleftreversed 201B colonmonetary 20A1 franc 20A3 lira 20A4 peseta 20A7
dong 20AB estimated 212E prescription 211E afii61289 2113 afii61352 2116 carriagereturn 21B5
checkmark 2713 filledbox 25A0 H22073 25A1 triagup 25B2 triagdn 25BC circle 25CB
blackcircle 25CF square 25A1 dotlessj 0237 visiblespace 2423 compwordmark 200C
perthousandzero 2030 cwm 200C Omegainv 2127 mho 2127 minusplus 2213 circledot 2299
lessmuch 226A greatermuch 226B precedes 227A follows 227B asymptequal 224D
summationtext 2211 summationdisplay 2211 producttext 220F productdisplay 220F
integraltext 222B integraldisplay 222B contintegraltext 222E contintegraldisplay 222E
uniontext 22C3 uniondisplay 22C3 intersectiontext 22C2 intersectiondisplay 22C2
coproducttext 2210 coproductdisplay 2210 circleplustext 2A01 circleplusdisplay 2A01
circlemultiplytext 2A02 circlemultiplydisplay 2A02 logicalandtext 22C0 logicalanddisplay 22C0
logicalortext 22C1 logicalordisplay 22C1 parenleftbig 0028 parenrightbig 0029 parenleftBig 0028
parenrightBig 0029 parenleftbigg 0028 parenrightbigg 0029 parenleftBigg 0028 parenrightBigg 0029
bracketleftbig 005B bracketrightbig 005D bracketleftBig 005B bracketrightBig 005D
bracketleftbigg 005B bracketrightbigg 005D bracketleftBigg 005B bracketrightBigg 005D
braceleftbig 007B bracerightbig 007D braceleftBig 007B bracerightBig 007D braceleftbigg 007B
bracerightbigg 007D braceleftBigg 007B bracerightBigg 007D radicalbig 221A radicalBig 221A
radicalbigg 221A radicalBigg 221A slashbig 002F slashBig 002F backslashbig 005C
hatwide 0302 hatwider 0302 hatwidest 0302 tildewide 0303 tildewider 0303 tildewidest 0303
angbracketleft 27E8 angbracketright 27E9 angbracketleftbig 27E8 angbracketrightbig 27E9
angbracketleftBig 27E8 angbracketrightBig 27E9 mapsto 21A6 arrownortheast 2197
arrowsoutheast 2198 negationslash 0338 prime 2032 latticetop 22A4 turnstileleft 22A2
turnstileright 22A3 floorleft 230A floorright 230B ceilingleft 2308 ceilingright 2309
backslash 005C wreathproduct 2240 unionsq 2294 intersectionsq 2293 subsetsqequal 2291
supersetsqequal 2292 section 00A7 dagger 2020 daggerdbl 2021 star 22C6 triangle 25B3
triangleinv 25BD owner 220B epsilon1 03F5 tie 2040 vector 20D7 dotlessj 0237 weierstrass 2118
`)

func parseGlyphTable(s string) map[string]rune {
	f := strings.Fields(s)
	m := make(map[string]rune, len(f)/2)
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseUint(f[i+1], 16, 32)
		if err == nil {
			if _, dup := m[f[i]]; !dup {
				m[f[i]] = rune(v)
			}
		}
	}
	return m
}

// glyphToUnicode maps a glyph name to its text. Unknown names give "".
func glyphToUnicode(name string) string {
	if r, ok := glyphNames[name]; ok {
		return expandLigature(r)
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return glyphToUnicode(name[:i])
	}
	if i := strings.IndexByte(name, '_'); i > 0 { // f_f_i: ligature spelled out
		var b strings.Builder
		for p := range strings.SplitSeq(name, "_") {
			b.WriteString(glyphToUnicode(p))
		}
		return b.String()
	}
	if strings.HasPrefix(name, "uni") && len(name) >= 7 && (len(name)-3)%4 == 0 {
		var b strings.Builder
		for i := 3; i+4 <= len(name); i += 4 {
			v, err := strconv.ParseUint(name[i:i+4], 16, 32)
			if err != nil {
				return ""
			}
			b.WriteString(expandLigature(rune(v)))
		}
		return b.String()
	}
	if len(name) >= 5 && len(name) <= 7 && name[0] == 'u' {
		if v, err := strconv.ParseUint(name[1:], 16, 32); err == nil && v <= 0x10FFFF {
			return expandLigature(rune(v))
		}
	}
	if len(name) == 1 {
		return name // single letters and digits spell themselves
	}
	return numericGlyph(name)
}

// numericGlyph reads names such as a79, g65 or C101 that some producers (TeX bitmap fonts,
// Type 3 fonts) give glyphs: one or two letters and a decimal character code.
func numericGlyph(name string) string {
	i := 0
	for i < len(name) && i < 2 && (name[i] >= 'a' && name[i] <= 'z' || name[i] >= 'A' && name[i] <= 'Z') {
		i++
	}
	digits := name[i:]
	if i == 0 || len(digits) < 2 || len(digits) > 3 {
		return ""
	}
	v, err := strconv.Atoi(digits)
	if err != nil || v > 255 || v == 127 {
		return ""
	}
	if v < 32 {
		return texControlGlyph(v)
	}
	return expandLigature(rune(v))
}

// texControlGlyph is the text of the codes below 32 in TeX's text fonts: ligatures at 11–15
// (OT1) and 27–31 (T1), quotes and dashes at 16, 17, 21 and 22 (T1).
func texControlGlyph(c int) string {
	switch c {
	case 11, 27:
		return "ff"
	case 12, 28:
		return "fi"
	case 13, 29:
		return "fl"
	case 14, 30:
		return "ffi"
	case 15, 31:
		return "ffl"
	case 16:
		return "\u201C"
	case 17:
		return "\u201D"
	case 21:
		return "\u2013"
	case 22:
		return "\u2014"
	}
	return ""
}

// symbolEncoding and dingbatsEncoding are the built-in encodings of the standard Symbol and
// ZapfDingbats fonts, as glyph names (uniXXXX) so that Differences can override them.
var symbolEncoding = func() [256]string {
	var e [256]string
	lo := []rune(" !\u2200#\u2203%&\u220B()\u2217+,\u2212./0123456789:;<=>?\u2245ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ[\u2234]\u22A5_\u203Eαβχδεφγηιϕκλμνοπθρστυϖωξψζ{|}\u223C")
	for i, r := range lo {
		e[0x20+i] = uniName(r)
	}
	hi := []rune("€ϒ′≤⁄∞ƒ♣♦♥♠↔←↑→↓°±″≥×∝∂•÷≠≡≈…⏐⎯↵ℵℑℜ℘⊗⊕∅∩∪⊃⊇⊄⊂⊆∈∉∠∇®©™∏√⋅¬∧∨⇔⇐⇑⇒⇓◊〈®©™∑⎛⎜⎝⎡⎢⎣⎧⎨⎩⎪")
	for i, r := range hi {
		e[0xA0+i] = uniName(r)
	}
	hi2 := []rune("〉∫⌠⎮⌡⎞⎟⎠⎤⎥⎦⎫⎬⎭")
	for i, r := range hi2 {
		e[0xF1+i] = uniName(r)
	}
	return e
}()

var dingbatsEncoding = func() [256]string {
	var e [256]string
	e[0x20] = "space"
	except := map[int]rune{0x25: 0x260E, 0x2A: 0x261B, 0x2B: 0x261E, 0x48: 0x2605, 0x6C: 0x25CF,
		0x6E: 0x25A0, 0x73: 0x25B2, 0x74: 0x25BC, 0x75: 0x25C6, 0x77: 0x25D7,
		0xA8: 0x2663, 0xA9: 0x2666, 0xAA: 0x2665, 0xAB: 0x2660, 0xD5: 0x2192, 0xD6: 0x2194, 0xD7: 0x2195}
	for c := 0x21; c <= 0x7E; c++ {
		e[c] = uniName(0x2700 + rune(c-0x20))
	}
	for c := 0xA1; c <= 0xFE; c++ {
		switch {
		case c >= 0xAC && c <= 0xB5:
			e[c] = uniName(0x2460 + rune(c-0xAC))
		case c >= 0xB6:
			e[c] = uniName(0x2776 + rune(c-0xB6))
		default:
			e[c] = uniName(0x2760 + rune(c-0xA0))
		}
	}
	for c, r := range except {
		e[c] = uniName(r)
	}
	return e
}()

func uniName(r rune) string {
	return fmt.Sprintf("uni%04X", r)
}

// expandLigature spells out the Latin presentation-form ligatures (U+FB00..FB06) as letters.
func expandLigature(r rune) string {
	switch r {
	case 0xFB00:
		return "ff"
	case 0xFB01:
		return "fi"
	case 0xFB02:
		return "fl"
	case 0xFB03:
		return "ffi"
	case 0xFB04:
		return "ffl"
	case 0xFB05, 0xFB06:
		return "st"
	case 0:
		return ""
	}
	return string(r)
}

// expandLigatures applies expandLigature to every rune of s.
func expandLigatures(s string) string {
	for _, r := range s {
		if r >= 0xFB00 && r <= 0xFB06 {
			var b strings.Builder
			for _, r := range s {
				b.WriteString(expandLigature(r))
			}
			return b.String()
		}
	}
	return s
}

// unicodeToName is the reverse of glyphNames for the names the standard encodings use.
var unicodeToName = func() map[rune]string {
	m := make(map[rune]string, len(glyphNames))
	for n, r := range glyphNames {
		if old, ok := m[r]; !ok || len(n) < len(old) || (len(n) == len(old) && n < old) {
			m[r] = n
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m[c] = string(c)
		m[c+32] = string(c + 32)
	}
	return m
}()

// standardEncoding is Adobe StandardEncoding (the built-in encoding of Type 1 text fonts).
var standardEncoding = func() [256]string {
	var e [256]string
	for c := 0x20; c < 0x7F; c++ {
		e[c] = unicodeToName[rune(c)]
	}
	e[0x27] = "quoteright"
	e[0x60] = "quoteleft"
	hi := strings.Fields(`A1 exclamdown A2 cent A3 sterling A4 fraction A5 yen A6 florin A7 section
A8 currency A9 quotesingle AA quotedblleft AB guillemotleft AC guilsinglleft AD guilsinglright
AE fi AF fl B1 endash B2 dagger B3 daggerdbl B4 periodcentered B6 paragraph B7 bullet
B8 quotesinglbase B9 quotedblbase BA quotedblright BB guillemotright BC ellipsis BD perthousand
BF questiondown C1 grave C2 acute C3 circumflex C4 tilde C5 macron C6 breve C7 dotaccent
C8 dieresis CA ring CB cedilla CD hungarumlaut CE ogonek CF caron D0 emdash E1 AE E3 ordfeminine
E8 Lslash E9 Oslash EA OE EB ordmasculine F1 ae F5 dotlessi F8 lslash F9 oslash FA oe FB germandbls`)
	for i := 0; i+1 < len(hi); i += 2 {
		c, _ := strconv.ParseUint(hi[i], 16, 8)
		e[c] = hi[i+1]
	}
	return e
}()

// charmapEncoding builds a code → glyph name table from a Go character map.
func charmapEncoding(cm *charmap.Charmap) [256]string {
	var e [256]string
	for c := 0x20; c < 256; c++ {
		r := cm.DecodeByte(byte(c))
		if r == 0xFFFD || r < 0x20 {
			continue
		}
		if n, ok := unicodeToName[r]; ok {
			e[c] = n
		} else {
			e[c] = "uni" + strings.ToUpper(strconv.FormatInt(int64(r), 16))
		}
	}
	return e
}

var (
	winAnsiEncoding  = func() [256]string { e := charmapEncoding(charmap.Windows1252); e[0x2D] = "hyphen"; return e }()
	macRomanEncoding = charmapEncoding(charmap.Macintosh)
)

// winAnsiCode is the WinAnsi code of a rune, used to look up standard-14 widths.
var winAnsiCode = func() map[rune]int {
	m := map[rune]int{}
	for c := 0x20; c < 256; c++ {
		r := charmap.Windows1252.DecodeByte(byte(c))
		if r != 0xFFFD {
			if _, ok := m[r]; !ok {
				m[r] = c
			}
		}
	}
	return m
}()
