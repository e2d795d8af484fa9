package jats

import (
	"strings"
	"unicode"
)

// textWriter renders elements to plain text: runs of white space become one space, block
// elements are separated by a space, inline elements (italic, bold, sup, sub, xref, …) join
// their neighbours without one.
type textWriter struct {
	b     strings.Builder
	space bool // white space is pending
	// Pretty-printed XML puts a line break and indentation around inline elements: pending
	// white space that holds a line break (and no no-break or thin space) is dropped before
	// closing punctuation, after an opening bracket and around sub- and superscripts.
	newline, hard bool
	glue          bool // the last thing written was a sub- or superscript
	// mark, when set, is called at the start of every element for which it reports interest,
	// with the offset in the output where the element's text begins.
	mark func(n *node, off int)
}

func (w *textWriter) String() string { return w.b.String() }

// offset is where the next visible character will be written.
func (w *textWriter) offset() int {
	if w.space && w.b.Len() > 0 {
		return w.b.Len() + 1
	}
	return w.b.Len()
}

func (w *textWriter) write(s string) {
	for _, r := range s {
		if unicode.IsSpace(r) || r == '\u200b' {
			w.space = true
			switch r {
			case '\n', '\r':
				w.newline = true
			case ' ', '\t':
			default:
				w.hard = true
			}
			continue
		}
		if unicode.IsControl(r) {
			continue
		}
		if w.space && w.b.Len() > 0 && !(w.indentation() && (w.glue || closing(r) || w.afterOpening())) {
			w.b.WriteByte(' ')
		}
		w.space, w.newline, w.hard, w.glue = false, false, false, false
		w.b.WriteRune(r)
	}
}

// indentation reports whether the pending white space is a pretty-printer's line break.
func (w *textWriter) indentation() bool { return w.newline && !w.hard }

func (w *textWriter) afterOpening() bool {
	s := w.b.String()
	return strings.HasSuffix(s, "(") || strings.HasSuffix(s, "[")
}

func closing(r rune) bool {
	switch r {
	case ',', '.', ';', ':', ')', ']', '?', '!':
		return true
	}
	return false
}

// brk separates blocks.
func (w *textWriter) brk() { w.space, w.newline, w.hard, w.glue = true, false, true, false }

// skipped elements print nothing in running text: identifiers, image references, the LaTeX
// twin of a formula, licences attached to a figure.
var skipped = map[string]bool{
	"object-id": true, "graphic": true, "inline-graphic": true, "alt-text": true, "long-desc": true,
	"permissions": true, "tex-math": true, "media": true, "annotation": true, "ui": true,
}

// blocks are separated from their neighbours by a space.
var blocks = map[string]bool{
	"p": true, "title": true, "label": true, "caption": true, "list": true, "list-item": true,
	"def-list": true, "def-item": true, "term": true, "def": true, "break": true, "disp-formula": true,
	"table": true, "tr": true, "td": true, "th": true, "sec": true, "attrib": true, "fn": true,
	"disp-quote": true, "statement": true, "text": true, "br": true, "license-p": true, "note": true,
}

func (w *textWriter) render(n *node) {
	if n.name == "" {
		w.write(n.text)
		return
	}
	if skipped[n.name] {
		return
	}
	if w.mark != nil {
		w.mark(n, w.offset())
	}
	switch n.name {
	case "alternatives":
		// One rendering of the same content: MathML before anything else, never an image.
		var pick *node
		for _, k := range n.kids {
			if k.name == "math" {
				pick = k
				break
			}
			if pick == nil && k.name != "" && !skipped[k.name] {
				pick = k
			}
		}
		if pick != nil {
			w.render(pick)
		}
		return
	case "sup", "sub":
		var inner textWriter
		if w.mark != nil {
			// A reference inside a superscript starts where the superscript does.
			inner.mark = func(k *node, _ int) { w.mark(k, w.offset()) }
		}
		for _, k := range n.kids {
			inner.render(k)
		}
		s := strings.TrimSpace(inner.String())
		if mapped, ok := script(s, n.name == "sup"); ok {
			s = mapped
		}
		if s == "" {
			return
		}
		if w.indentation() {
			w.space = false
		}
		w.write(s)
		w.glue = true
		return
	}
	block := blocks[n.name]
	if block {
		w.brk()
	}
	for _, k := range n.kids {
		w.render(k)
	}
	if block {
		w.brk()
	}
}

var (
	superscripts = map[rune]rune{'0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶',
		'7': '⁷', '8': '⁸', '9': '⁹', '+': '⁺', '-': '⁻', '−': '⁻', '=': '⁼', '(': '⁽', ')': '⁾'}
	subscripts = map[rune]rune{'0': '₀', '1': '₁', '2': '₂', '3': '₃', '4': '₄', '5': '₅', '6': '₆',
		'7': '₇', '8': '₈', '9': '₉', '+': '₊', '-': '₋', '−': '₋', '=': '₌', '(': '₍', ')': '₎'}
)

// script writes s in Unicode super- or subscript characters when every character has one
// (digits, signs, brackets); otherwise ok is false and s is kept as plain characters.
func script(s string, sup bool) (string, bool) {
	m := subscripts
	if sup {
		m = superscripts
	}
	if s == "" {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		c, ok := m[r]
		if !ok {
			return s, false
		}
		b.WriteRune(c)
	}
	return b.String(), true
}
