package cot

import (
	"time"

	"github.com/eosinlab/eosin/cot/internal/chattest"
)

// fakeModel is the chat-completions test server of package chattest.
type fakeModel = chattest.Model

func newFakeModel(timeout time.Duration) *fakeModel { return chattest.New(timeout) }

// testFigures builds n figures whose captions carry the given faults (see chattest.Figures).
func testFigures(n int, faults ...string) []FigureInput {
	figs, imgs := chattest.Figures(n, faults...)
	out := make([]FigureInput, len(figs))
	for i := range figs {
		out[i] = FigureInput{Figure: figs[i], Image: imgs[i]}
	}
	return out
}
