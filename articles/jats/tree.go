package jats

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// Limits bound what Parse accepts; input beyond them is an error, never a partial article.
type Limits struct {
	// MaxBytes is the largest XML input read (default 64 MiB).
	MaxBytes int64
	// MaxDepth is the deepest element nesting (default 256).
	MaxDepth int
	// MaxNodes is the most elements and text runs in one document (default 2 000 000).
	MaxNodes int
}

// DefaultLimits are the limits Parse uses.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 20, MaxDepth: 256, MaxNodes: 2_000_000}
}

// Errors Parse returns (wrapped with detail); errors.Is tells them apart.
var (
	// ErrTooLarge: the input is larger than Limits.MaxBytes.
	ErrTooLarge = errors.New("xml too large")
	// ErrLimit: nesting or element count beyond Limits.
	ErrLimit = errors.New("xml limit exceeded")
	// ErrMalformed: not well-formed XML, or an entity that is not predefined.
	ErrMalformed = errors.New("malformed xml")
	// ErrFormat: well-formed XML, but neither a JATS/NLM <article> nor a BMC <art>.
	ErrFormat = errors.New("not JATS or BMC article xml")
)

// node is an element (name set) or a run of text (name empty) of the parsed document.
type node struct {
	name   string // local name, without namespace prefix
	attrs  []xml.Attr
	kids   []*node
	text   string
	parent *node
}

// attr returns the value of the first attribute with the local name, whatever its namespace.
func (n *node) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// child returns the first child element with the name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// children returns the child elements with the name.
func (n *node) children(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// path follows child elements by name; nil when one is missing.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// walk visits n and its descendants depth first, in document order; fn returning false skips
// the node's descendants.
func (n *node) walk(fn func(*node) bool) {
	if n == nil {
		return
	}
	stack := []*node{n}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.name == "" || !fn(c) {
			continue
		}
		for i := len(c.kids) - 1; i >= 0; i-- {
			stack = append(stack, c.kids[i])
		}
	}
}

// find returns the descendants of n (not n) with the name, in document order.
func (n *node) find(name string) []*node {
	var out []*node
	n.walk(func(c *node) bool {
		if c != n && c.name == name {
			out = append(out, c)
		}
		return true
	})
	return out
}

// within reports whether an ancestor of n (not n) has one of the names, stopping at stop.
func (n *node) within(stop *node, names ...string) bool {
	for p := n.parent; p != nil && p != stop; p = p.parent {
		for _, name := range names {
			if p.name == name {
				return true
			}
		}
	}
	return false
}

// limitedReader fails with ErrTooLarge once more than n bytes were read.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		return k, ErrTooLarge
	}
	return k, err
}

// parseTree reads a whole document into a tree. Only the predefined XML entities and the
// fixed HTML entity table are known: a DOCTYPE's declarations are never read, so no
// external entity is fetched and no entity expands into another.
func parseTree(r io.Reader, lim Limits) (*node, error) {
	def := DefaultLimits()
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = def.MaxBytes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = def.MaxDepth
	}
	if lim.MaxNodes <= 0 {
		lim.MaxNodes = def.MaxNodes
	}
	d := xml.NewDecoder(&limitedReader{r: r, n: lim.MaxBytes})
	d.Strict = true
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("charset %q: %w", label, err)
		}
		return enc.NewDecoder().Reader(in), nil
	}
	var root, cur *node
	depth, count := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
			}
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			count++
			if depth > lim.MaxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, lim.MaxDepth)
			}
			if count > lim.MaxNodes {
				return nil, fmt.Errorf("%w: more than %d nodes", ErrLimit, lim.MaxNodes)
			}
			n := &node{name: t.Name.Local, attrs: t.Attr, parent: cur}
			if cur == nil {
				if root != nil {
					return nil, fmt.Errorf("%w: several root elements", ErrMalformed)
				}
				root = n
			} else {
				cur.kids = append(cur.kids, n)
			}
			cur = n
		case xml.EndElement:
			depth--
			if cur != nil {
				cur = cur.parent
			}
		case xml.CharData:
			if cur == nil {
				continue // whitespace around the root
			}
			count++
			if count > lim.MaxNodes {
				return nil, fmt.Errorf("%w: more than %d nodes", ErrLimit, lim.MaxNodes)
			}
			cur.kids = append(cur.kids, &node{text: string(t), parent: cur})
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

// plain is the text of n with whitespace collapsed (see render).
func plain(n *node) string {
	if n == nil {
		return ""
	}
	var w textWriter
	w.render(n)
	return w.String()
}

// trimmed is strings.TrimSpace of plain.
func trimmed(n *node) string { return strings.TrimSpace(plain(n)) }
