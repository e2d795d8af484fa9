package jats

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// attachMentions finds every citation of a figure (targets returns the ids an element cites,
// nil for other elements) in running text — paragraphs outside figures, tables and their
// captions — and attaches the citing sentence and its paragraph to the cited figures.
func attachMentions(root *node, figs []Figure, owner map[string]int, targets func(*node) []string) {
	if len(figs) == 0 {
		return
	}
	// The innermost paragraph of each citation, in document order.
	var paras []*node
	seenPara := map[*node]bool{}
	root.walk(func(n *node) bool {
		switch n.name {
		case "fig", "fig-group", "table-wrap", "table", "caption", "ref-list", "refgrp", "fn-group":
			return false
		}
		if len(targets(n)) == 0 {
			return true
		}
		p := paragraphOf(n)
		if p != nil && !seenPara[p] {
			seenPara[p] = true
			paras = append(paras, p)
		}
		return true
	})
	seen := make([]map[Mention]bool, len(figs))
	for _, p := range paras {
		type cite struct {
			fig, off int
		}
		var cites []cite
		w := textWriter{}
		w.mark = func(n *node, off int) {
			ids := targets(n)
			if len(ids) == 0 || paragraphOf(n) != p {
				return
			}
			for _, id := range ids {
				if i, ok := owner[id]; ok {
					cites = append(cites, cite{i, off})
				}
			}
		}
		w.render(p)
		text := w.String()
		if len(cites) == 0 || strings.TrimSpace(text) == "" {
			continue
		}
		para := shorten(text, maxParagraph)
		bounds := sentenceBounds(text)
		for _, c := range cites {
			m := Mention{Sentence: strings.TrimSpace(sentenceAt(text, bounds, c.off)), Paragraph: para}
			if seen[c.fig] == nil {
				seen[c.fig] = map[Mention]bool{}
			}
			if seen[c.fig][m] || len(figs[c.fig].Mentions) >= maxMentions {
				continue
			}
			seen[c.fig][m] = true
			figs[c.fig].Mentions = append(figs[c.fig].Mentions, m)
		}
	}
}

// paragraphOf is the innermost paragraph holding n, or nil.
func paragraphOf(n *node) *node {
	for p := n.parent; p != nil; p = p.parent {
		if p.name == "p" {
			return p
		}
	}
	return nil
}

// abbreviations end in a full stop that does not end a sentence (lower case, without it).
var abbreviations = map[string]bool{
	"fig": true, "figs": true, "e.g": true, "i.e": true, "al": true, "cf": true, "vs": true,
	"eq": true, "eqs": true, "ref": true, "refs": true, "no": true, "nos": true, "approx": true,
	"resp": true, "sp": true, "spp": true, "ca": true, "tab": true, "suppl": true, "vol": true,
	"pp": true, "dr": true, "mr": true, "ms": true, "st": true, "var": true, "subsp": true, "etc": true,
}

// maxAbbrev is the longest abbreviation looked for before a full stop, in bytes.
const maxAbbrev = 12

// sentenceBounds returns the offsets where sentences start after the first: a ".", "?" or "!"
// followed by a space and a capital letter, a digit or an opening bracket, not after an
// abbreviation or a single capital (an initial).
func sentenceBounds(text string) []int {
	var out []int
	for i := 0; i+2 < len(text); i++ {
		c := text[i]
		if (c != '.' && c != '?' && c != '!') || text[i+1] != ' ' {
			continue
		}
		next, _ := utf8.DecodeRuneInString(text[i+2:])
		if !unicode.IsUpper(next) && !unicode.IsDigit(next) && next != '(' && next != '[' {
			continue
		}
		if c == '.' {
			// The word before the stop (abbreviations are short: look back a few bytes only,
			// so that long runs without spaces stay linear).
			from := max(0, i-maxAbbrev)
			sp := strings.LastIndexByte(text[from:i], ' ')
			if sp >= 0 || from == 0 { // else a long word: no abbreviation, a sentence end
				word := strings.ToLower(strings.TrimLeft(text[from+sp+1:i], "(["))
				if abbreviations[word] {
					continue
				}
				if r, n := utf8.DecodeRuneInString(word); n == len(word) && unicode.IsLetter(r) {
					continue
				}
			}
		}
		out = append(out, i+2)
	}
	return out
}

// sentenceAt is the sentence of text holding offset off.
func sentenceAt(text string, bounds []int, off int) string {
	start, end := 0, len(text)
	for _, b := range bounds {
		if b <= off {
			start = b
		} else {
			end = b
			break
		}
	}
	return text[start:end]
}

// shorten cuts s to at most n bytes at a rune boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
