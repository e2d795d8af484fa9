// Package captions takes ground-truth figure and table captions from the LaTeX, Sweave and
// R Markdown sources that ship next to vignette PDFs, and scores extracted captions against
// them with a normalised token F1.
package captions

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Truth is one captioned figure or table in a source file.
type Truth struct {
	Kind   string // figure | table
	Index  int    // 1-based position among the captions of its kind, in source order
	Text   string // caption text with LaTeX stripped
	Source string // how it was found: env, knitr, insfig
}

// SourceExts are the source file extensions looked for next to a PDF, in order.
var SourceExts = []string{".Rnw", ".rnw", ".Rmd", ".tex"}

// SourceFor returns the source file that sits next to pdf with the same base name, or "".
func SourceFor(pdf string) string {
	base := strings.TrimSuffix(pdf, filepath.Ext(pdf))
	for _, ext := range SourceExts {
		if st, err := os.Stat(base + ext); err == nil && !st.IsDir() {
			return base + ext
		}
	}
	return ""
}

// ReadSource reads a source file and returns its captions.
func ReadSource(path string) ([]Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	return Parse(string(b), strings.EqualFold(filepath.Ext(path), ".rmd")), nil
}

type found struct {
	pos  int
	kind string
	raw  string
	src  string
	tex  bool // raw is LaTeX (else already plain text from an R string)
}

var (
	sweaveChunkRE = regexp.MustCompile(`(?ms)^<<(.*?)>>=[ \t]*\n(.*?)^@`)
	rmdChunkRE    = regexp.MustCompile("(?ms)^```+\\s*\\{r([^}]*)\\}[ \t]*\n(.*?)^```+")
	envBeginRE    = regexp.MustCompile(`\\begin\{(figure\*?|SCfigure\*?|wrapfigure|table\*?|SCtable|wraptable)\}`)
	figCapRE      = regexp.MustCompile(`fig\.cap\s*=\s*`)
	rCaptionRE    = regexp.MustCompile(`\bcaption\s*(?:=|<-)\s*`)
)

// Parse extracts the captions from source text. rmd selects R Markdown chunk syntax.
func Parse(src string, rmd bool) []Truth {
	var fs []found
	// knitr chunk options first (they live in chunk headers), then blank the chunks so R code
	// with '%' or braces cannot disturb the LaTeX scan. Offsets are kept (same length).
	chunkRE := sweaveChunkRE
	if rmd {
		chunkRE = rmdChunkRE
	}
	buf := []byte(src)
	for _, loc := range chunkRE.FindAllStringSubmatchIndex(src, -1) {
		header := src[loc[2]:loc[3]]
		if m := figCapRE.FindStringIndex(header); m != nil {
			if text, ok := rExpr(header[m[1]:]); ok {
				fs = append(fs, found{pos: loc[0], kind: "figure", raw: text, src: "knitr", tex: !rmd})
			}
		}
		// Tables printed by R code: xtable(…, caption = "…") or caption <- paste0(…).
		body := src[loc[4]:loc[5]]
		for _, m := range rCaptionRE.FindAllStringIndex(body, -1) {
			if text, ok := rExpr(body[m[1]:]); ok {
				fs = append(fs, found{pos: loc[4] + m[0], kind: "table", raw: text, src: "xtable", tex: !rmd})
			}
		}
		for i := loc[0]; i < loc[1]; i++ {
			if buf[i] != '\n' {
				buf[i] = ' '
			}
		}
	}
	blankSexpr(buf)
	s := stripComments(string(buf))
	// Environments with \caption.
	for _, loc := range envBeginRE.FindAllStringSubmatchIndex(s, -1) {
		env := s[loc[2]:loc[3]]
		endTag := `\end{` + env + `}`
		end := strings.Index(s[loc[1]:], endTag)
		if end < 0 {
			continue
		}
		body := s[loc[1] : loc[1]+end]
		kind := "figure"
		if strings.Contains(env, "table") {
			kind = "table"
		}
		for off := 0; ; {
			i := strings.Index(body[off:], `\caption`)
			if i < 0 {
				break
			}
			p := off + i + len(`\caption`)
			if strings.HasPrefix(body[p:], "of") || strings.HasPrefix(body[p:], "setup") {
				off = p
				continue
			}
			p = skipSpace(body, p)
			if p < len(body) && body[p] == '[' {
				p = skipBracket(body, p)
			}
			p = skipSpace(body, p)
			arg, next, ok := braceArg(body, p)
			if !ok {
				off = p
				continue
			}
			fs = append(fs, found{pos: loc[0] + off + i, kind: kind, raw: arg, src: "env", tex: true})
			off = next
		}
	}
	// \captionof{figure}{…} anywhere, and Epi's \insfig{file}{width}{caption}.
	for _, cmd := range []string{`\captionof`, `\insfig`} {
		for off := 0; ; {
			i := strings.Index(s[off:], cmd)
			if i < 0 {
				break
			}
			p := off + i + len(cmd)
			if p < len(s) && isLetterByte(s[p]) {
				off = p
				continue
			}
			var args []string
			q := p
			nargs := 3
			if cmd == `\captionof` {
				nargs = 2
			}
			for k := 0; k < nargs; k++ {
				q = skipSpace(s, q)
				if k == 1 && cmd == `\captionof` && q < len(s) && s[q] == '[' {
					q = skipSpace(s, skipBracket(s, q))
				}
				a, n, ok := braceArg(s, q)
				if !ok {
					break
				}
				args = append(args, a)
				q = n
			}
			if len(args) == nargs && !strings.Contains(s[max(0, off+i-20):off+i], `newcommand`) &&
				!strings.Contains(args[0], "#") {
				kind := "figure"
				if cmd == `\captionof` && strings.TrimSpace(args[0]) == "table" {
					kind = "table"
				}
				fs = append(fs, found{pos: off + i, kind: kind, raw: args[nargs-1], src: strings.TrimPrefix(cmd, `\`), tex: true})
			}
			off = q
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].pos < fs[j].pos })
	var out []Truth
	count := map[string]int{}
	for _, f := range fs {
		count[f.kind]++
		text := f.raw
		if f.tex {
			text = StripLaTeX(text)
		} else {
			text = StripMarkdown(text)
		}
		out = append(out, Truth{Kind: f.kind, Index: count[f.kind], Text: text, Source: f.src})
	}
	return out
}

func isLetterByte(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

func skipSpace(s string, p int) int {
	for p < len(s) && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r') {
		p++
	}
	return p
}

func skipBracket(s string, p int) int {
	depth := 0
	for i := p; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '\\':
			i++
		}
	}
	return len(s)
}

// braceArg returns the content of the brace group starting at s[p] and the offset after it.
func braceArg(s string, p int) (string, int, bool) {
	if p >= len(s) || s[p] != '{' {
		return "", p, false
	}
	depth := 0
	for i := p; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[p+1 : i], i + 1, true
			}
		}
	}
	return "", p, false
}

// blankSexpr blanks the R code inside \Sexpr{…} (it may hold '%' or braces), leaving
// "\Sexpr{}" padded to the same length.
func blankSexpr(buf []byte) {
	s := string(buf)
	for off := 0; ; {
		i := strings.Index(s[off:], `\Sexpr{`)
		if i < 0 {
			return
		}
		p := off + i + len(`\Sexpr`)
		_, next, ok := braceArg(s, p)
		if !ok {
			return
		}
		for k := p + 1; k < next-1; k++ {
			buf[k] = ' '
		}
		off = next
	}
}

// stripComments removes % comments (not \%), keeping line breaks and offsets' order.
func stripComments(s string) string {
	var b strings.Builder
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			if l[j] == '\\' {
				j++
				continue
			}
			if l[j] == '%' {
				l = l[:j] + strings.Repeat(" ", len(l)-j)
				break
			}
		}
		b.WriteString(l)
		if i+1 < len(lines) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// rExpr evaluates the small subset of R used for fig.cap: a quoted string ('…' or "…"), or
// paste()/paste0() of strings and other expressions (which become nothing, a wildcard).
func rExpr(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t\n")
	if s == "" {
		return "", false
	}
	if s[0] == '"' || s[0] == '\'' {
		str, _, ok := rString(s)
		return str, ok
	}
	for _, fn := range []string{"paste0(", "paste("} {
		if !strings.HasPrefix(s, fn) {
			continue
		}
		sep := " "
		if fn == "paste0(" {
			sep = ""
		}
		var parts []string
		depth := 0
		i := len(fn)
		for i < len(s) {
			c := s[i]
			switch {
			case c == '"' || c == '\'':
				str, n, ok := rString(s[i:])
				if !ok {
					return "", false
				}
				if depth == 0 {
					parts = append(parts, str)
				}
				i += n
				continue
			case c == '(':
				depth++
			case c == ')':
				if depth == 0 {
					return strings.Join(parts, sep), len(parts) > 0
				}
				depth--
			}
			i++
		}
		return "", false
	}
	return "", false
}

// rString reads an R string literal at the start of s and returns its value and length.
func rString(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			n := s[i+1]
			switch n {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(n)
			}
			i++
			continue
		}
		if c == q {
			return b.String(), i + 1, true
		}
		b.WriteByte(c)
	}
	return "", 0, false
}
