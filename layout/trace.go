package layout

import (
	"fmt"

	"github.com/eosinlab/eosin/extract"
)

// Trace steps, in the order a page goes through them. Each step hands a typed result to the
// next; Options.Trace sees every one of them as boxes on the page.
const (
	TraceText      = "text"      // lines by role: body, caption, figure, other
	TraceGraphics  = "graphics"  // painted graphics and images after clean-up
	TraceFrames    = "frames"    // rules and boxes framing a figure with its caption (layout, not content)
	TraceCaptions  = "captions"  // grown caption blocks
	TraceBlobs     = "blobs"     // clustered graphics with the figure text absorbed
	TraceProposals = "proposals" // candidate regions per caption, with their scores
	TraceFigures   = "figures"   // the chosen regions
)

// TraceSteps lists the trace steps in order.
var TraceSteps = []string{TraceText, TraceGraphics, TraceFrames, TraceCaptions, TraceBlobs, TraceProposals, TraceFigures}

// TraceBox is one thing a trace step draws: a box with what it is.
type TraceBox struct {
	Kind  string // e.g. "body", "caption", "image", "above"
	Label string // free text: a caption label, a score
	Box   extract.Rect
}

// TraceFunc receives the boxes of one step on one page (1-based). It is called from the
// goroutine processing the document.
type TraceFunc func(page int, step string, boxes []TraceBox)

// trace hands a step to opts.Trace when set.
func (pm *pageModel) trace(step string, boxes []TraceBox) {
	if pm.tracer != nil {
		pm.tracer(pm.page.Number, step, boxes)
	}
}

var roleNames = map[role]string{roleBody: "body", roleCaption: "caption", roleFigureText: "figure", roleOther: "other"}

// traceAll emits every step of a laid-out page.
func (pm *pageModel) traceAll(blocks []captionBlock, props [][]proposal, figs []pageFigure) {
	if pm.tracer == nil {
		return
	}
	var text []TraceBox
	for _, l := range pm.lines {
		kind := roleNames[l.role]
		if l.furniture {
			kind = "furniture"
		}
		text = append(text, TraceBox{Kind: kind, Label: l.text, Box: l.box})
	}
	pm.trace(TraceText, text)
	var gr []TraceBox
	for _, g := range pm.graphics {
		gr = append(gr, TraceBox{Kind: "graphic", Box: g})
	}
	pm.trace(TraceGraphics, gr)
	var fr []TraceBox
	for _, f := range pm.frames {
		fr = append(fr, TraceBox{Kind: "frame", Box: f.box})
	}
	pm.trace(TraceFrames, fr)
	var cb []TraceBox
	for _, b := range blocks {
		cb = append(cb, TraceBox{Kind: string(b.cand.m.Kind), Label: b.cand.m.Label, Box: b.box})
	}
	pm.trace(TraceCaptions, cb)
	var bl []TraceBox
	for _, b := range pm.blobs {
		bl = append(bl, TraceBox{Kind: "blob", Label: fmt.Sprintf("%d lines", len(b.text)), Box: b.box})
	}
	pm.trace(TraceBlobs, bl)
	var pr []TraceBox
	for i, ps := range props {
		for _, p := range ps {
			pr = append(pr, TraceBox{Kind: p.dir.String(), Label: fmt.Sprintf("%s %.2f", blocks[i].cand.m.Label, p.score), Box: p.box})
		}
	}
	pm.trace(TraceProposals, pr)
	var fg []TraceBox
	for _, f := range figs {
		fg = append(fg, TraceBox{Kind: string(f.kind), Label: f.block.cand.m.Label, Box: f.region})
	}
	pm.trace(TraceFigures, fg)
}
