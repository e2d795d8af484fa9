package inspect

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/eosinlab/eosin/internal/safefile"
	"github.com/eosinlab/eosin/shards"
)

// sampleJSON is a chain-of-thought sample as the report's scripts read it.
type sampleJSON struct {
	I       int                `json:"i"`
	ID      string             `json:"id"`
	Fig     int                `json:"fig"`
	FigID   string             `json:"figId,omitempty"`
	Task    string             `json:"task,omitempty"`
	Problem string             `json:"problem,omitempty"`
	Options []string           `json:"options,omitempty"`
	Answer  string             `json:"answer,omitempty"`
	Think   string             `json:"think,omitempty"`
	Final   string             `json:"final,omitempty"`
	Msgs    []shards.Message   `json:"msgs,omitempty"`
	Scores  map[string]float64 `json:"scores,omitempty"`
	Keep    bool               `json:"keep"`
	Reasons []string           `json:"reasons,omitempty"`
	Model   string             `json:"model,omitempty"`
	Imgs    []string           `json:"imgs,omitempty"`
}

func (b *builder) addSample(ctx context.Context, it SampleItem) error {
	s := it.Sample
	i := b.nsamp
	b.nsamp++
	sj := sampleJSON{I: i, ID: s.ID, Fig: -1, FigID: s.FigureID, Task: s.Task, Problem: clip(s.Problem, maxText),
		Options: s.Options, Answer: clip(s.Answer, maxText), Scores: s.Scores, Keep: s.Verdict.Keep,
		Reasons: s.Verdict.Reasons, Model: s.Generator.Model}
	if fi, ok := b.figByID[s.FigureID]; ok {
		sj.Fig = fi
	}
	// The last assistant turn holds <think>…</think><answer>…</answer>; earlier turns are
	// shown as the conversation.
	last := -1
	for k := len(s.Messages) - 1; k >= 0; k-- {
		if s.Messages[k].Role == "assistant" {
			last = k
			break
		}
	}
	for k, m := range s.Messages {
		if k == last {
			think, final := SplitReasoning(m.Content)
			sj.Think, sj.Final = clip(think, 4*maxText), clip(final, maxText)
			continue
		}
		sj.Msgs = append(sj.Msgs, shards.Message{Role: m.Role, Content: clip(m.Content, maxText)})
	}
	for k, im := range s.Images {
		ext := strings.ToLower(im.Format)
		if ext == "" {
			ext = strings.TrimPrefix(strings.ToLower(filepath.Ext(im.Path)), ".")
		}
		if ext == "" {
			ext = "png"
		}
		name := fmt.Sprintf("s%d-%d.%s", i, k, ext)
		if safeName(s.ID) {
			name = fmt.Sprintf("%s-%d.%s", s.ID, k, ext)
		}
		dst := filepath.Join(b.opts.Dir, "samples", name)
		switch {
		case len(im.Bytes) > 0:
			data := im.Bytes
			if err := safefile.CheckImage(fmt.Sprintf("sample %s image %d", s.ID, k), data, ext, ""); err != nil {
				b.badImage(err)
				continue
			}
			if err := b.copies.do(ctx, func() error { return b.writeFile(dst, data) }); err != nil {
				return err
			}
		case k < len(it.ImagePaths) && it.ImagePaths[k] != "":
			if _, err := os.Lstat(it.ImagePaths[k]); err != nil {
				continue
			}
			p, root := it.ImagePaths[k], it.ImageRoot
			if err := b.copies.do(ctx, func() error { return b.copyImage(dst, root, p, "") }); err != nil {
				return err
			}
		default:
			continue
		}
		sj.Imgs = append(sj.Imgs, "samples/"+name)
	}
	if s.Task != "" {
		b.tasks[s.Task]++
	} else {
		b.tasks["(none)"]++
	}
	if s.Verdict.Keep {
		b.kept++
	}
	for _, r := range s.Verdict.Reasons {
		b.verdictWhy[r]++
	}
	for k, v := range s.Scores {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			b.scoreVals[k] = append(b.scoreVals[k], v)
		}
	}
	b.samples = append(b.samples, sj)
	if len(b.samples) == b.opts.ChunkSize {
		return b.flushSamples()
	}
	return nil
}

// SplitReasoning splits an assistant turn of the form <think>…</think><answer>…</answer>
// into its reasoning and its final answer. Without the tags, the whole text is the answer.
func SplitReasoning(s string) (think, answer string) {
	rest := s
	if i := strings.Index(rest, "<think>"); i >= 0 {
		body := rest[i+len("<think>"):]
		if j := strings.Index(body, "</think>"); j >= 0 {
			think, rest = body[:j], body[j+len("</think>"):]
		} else {
			think, rest = body, ""
		}
	}
	if i := strings.Index(rest, "<answer>"); i >= 0 {
		body := rest[i+len("<answer>"):]
		if j := strings.Index(body, "</answer>"); j >= 0 {
			body = body[:j]
		}
		return strings.TrimSpace(think), strings.TrimSpace(body)
	}
	return strings.TrimSpace(think), strings.TrimSpace(rest)
}

func (b *builder) flushSamples() error {
	if len(b.samples) == 0 {
		return nil
	}
	if err := b.writeData("samples", (b.nsamp-1)/b.opts.ChunkSize, b.samples); err != nil {
		return err
	}
	b.samples = b.samples[:0]
	return nil
}
