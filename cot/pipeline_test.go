package cot

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

var testTasks = []TaskSpec{{"mcq", "medium", 2}, {"reasoning", "short", 1}, {"description", "medium", 1}, {"conversation", "medium", 1}}

func testPipeline(t testing.TB, gen Generator) *Pipeline {
	t.Helper()
	p, err := NewPipeline(gen, Config{Model: "fake", Tasks: testTasks, Temperature: 0.8, Judge: true, Agreement: 3})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func seqOf(figs []FigureInput) iter.Seq2[FigureInput, error] {
	return func(yield func(FigureInput, error) bool) {
		for _, f := range figs {
			if !yield(f, nil) {
				return
			}
		}
	}
}

// memSink keeps the output in memory; failAfter > 0 makes the n-th write fail (a crash).
type memSink struct {
	mu        sync.Mutex
	outs      []*Output
	failAfter int
	closed    *Summary
}

func (m *memSink) Write(_ context.Context, out *Output) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && len(m.outs) == m.failAfter {
		return errors.New("disk full")
	}
	m.outs = append(m.outs, out)
	return nil
}

func (m *memSink) Close(_ context.Context, s *Summary) error { m.closed = s; return nil }

// TestRunFaults runs figures with every kind of fault and checks that each requested sample
// ends as a sample or as a reject with the expected reason.
func TestRunFaults(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	c := testClient(t, fm.URL(), t.TempDir())
	faults := []string{"429", "500", "slow", "truncated", "drop", "always500", "badreq", "garbage", "repeat",
		"offcaption", "judge", "disagree", "truncgen", "noimage"}
	figs := testFigures(len(faults)+6, faults...)
	// a reprinted figure: same caption and image as figure 16 under another id
	dup := figs[16]
	dup.Figure.ID = "fig-reprint"
	figs = append(figs, dup)

	sink := &memSink{}
	sum, err := Run(context.Background(), testPipeline(t, c), seqOf(figs), sink, RunConfig{Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	if sink.closed == nil || len(sink.outs) != len(figs) {
		t.Fatalf("sink got %d outputs, closed %v", len(sink.outs), sink.closed != nil)
	}
	perFigure := 0
	for _, ts := range testTasks {
		perFigure += ts.N
	}
	want := map[string]map[string]int{ // figure fault → reject reason → count
		"always500":  {"generator_http_500": 5},
		"badreq":     {"generator_http_400": 5},
		"garbage":    {"parse_error": 5},
		"repeat":     {"repetition": 5},
		"offcaption": {"answer_not_in_caption": 2},
		"judge":      {"judge_unsupported": 5},
		"disagree":   {"disagreement": 3},
		"truncgen":   {"truncated": 5},
		"noimage":    {"no_image": 5},
		"reprint":    {"near_duplicate": 5},
	}
	for i, out := range sink.outs {
		if out.FigureID != figs[i].Figure.ID {
			t.Fatalf("output %d is figure %s, want %s (order)", i, out.FigureID, figs[i].Figure.ID)
		}
		if out.Requested != perFigure || len(out.SFT)+len(out.Rejects) != perFigure {
			t.Errorf("%s: requested %d, %d samples + %d rejects", out.FigureID, out.Requested, len(out.SFT), len(out.Rejects))
		}
		fault := ""
		if i < len(faults) {
			fault = faults[i]
		}
		if out.FigureID == "fig-reprint" {
			fault = "reprint"
		}
		got := map[string]int{}
		for _, r := range out.Rejects {
			if r.Reason == "" || r.Stage != "cot" || r.ID == "" {
				t.Errorf("%s: reject without reason or id: %+v", out.FigureID, r)
			}
			got[r.Reason]++
		}
		if w := want[fault]; fmt.Sprint(got) != fmt.Sprint(w) && !(len(got) == 0 && len(w) == 0) {
			t.Errorf("%s (fault %q): rejects %v, want %v", out.FigureID, fault, got, w)
		}
		verifiable := 0
		for _, s := range out.SFT {
			if s.Task == "mcq" || s.Task == "reasoning" {
				verifiable++
			}
		}
		if len(out.RL) != verifiable {
			t.Errorf("%s: %d RL samples for %d kept mcq/reasoning samples", out.FigureID, len(out.RL), verifiable)
		}
		for _, s := range out.RL {
			if !strings.HasSuffix(s.ID, "-rl") || s.Answer == "" || len(s.Messages) != 0 || len(s.Images) != 1 {
				t.Errorf("bad RL sample %+v", s)
			}
		}
		for _, s := range out.SFT {
			last := s.Messages[len(s.Messages)-1]
			if last.Role != "assistant" || !strings.HasPrefix(last.Content, "<think>") || s.Scores["reward"] <= 0 {
				t.Errorf("bad SFT sample %s: %+v", s.ID, s)
			}
		}
	}
	if sum.Requested != sum.SFT+sum.Rejects {
		t.Errorf("summary: requested %d != sft %d + rejects %d", sum.Requested, sum.SFT, sum.Rejects)
	}
	st := c.Stats()
	if st.Retries < 6 || st.Failures != 8 { // always500 and badreq: 4 generation requests each
		t.Errorf("client stats %+v", st)
	}
	t.Logf("summary: %d figures, %d requested, %d SFT, %d RL, %d rejects %v; client %+v",
		sum.Figures, sum.Requested, sum.SFT, sum.RL, sum.Rejects, sum.Reasons, st)
}

func cacheEntries(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			n++
		}
		return nil
	})
	return n
}

// TestResumeFromCache crashes a run part-way (its sink fails), reruns it with the same cache
// and checks that the rerun sends only the requests the first run had not completed, and
// produces the same output as an uninterrupted run.
func TestResumeFromCache(t *testing.T) {
	figs := testFigures(16)
	cache := t.TempDir()

	fm1 := newFakeModel(testTimeout)
	sink1 := &memSink{failAfter: 5}
	_, err := Run(context.Background(), testPipeline(t, testClient(t, fm1.URL(), cache)), seqOf(figs), sink1, RunConfig{Workers: 4})
	fm1.Close()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("crashed run: %v", err)
	}
	cached := cacheEntries(t, cache)
	if cached == 0 {
		t.Fatal("nothing cached before the crash")
	}

	fm2 := newFakeModel(testTimeout)
	defer fm2.Close()
	sink2 := &memSink{}
	if _, err := Run(context.Background(), testPipeline(t, testClient(t, fm2.URL(), cache)), seqOf(figs), sink2, RunConfig{Workers: 4}); err != nil {
		t.Fatal(err)
	}
	total := cacheEntries(t, cache)
	if got := fm2.Requests.Load(); got != int64(total-cached) {
		t.Errorf("rerun sent %d requests, want %d (total %d, cached %d)", got, total-cached, total, cached)
	}

	// an uninterrupted, uncached run gives the same samples
	fm3 := newFakeModel(testTimeout)
	defer fm3.Close()
	sink3 := &memSink{}
	if _, err := Run(context.Background(), testPipeline(t, testClient(t, fm3.URL(), "")), seqOf(figs), sink3, RunConfig{Workers: 4}); err != nil {
		t.Fatal(err)
	}
	if fm3.Requests.Load() != int64(total) {
		t.Errorf("full run sent %d requests, cache holds %d", fm3.Requests.Load(), total)
	}
	if a, b := outputDigest(sink2.outs), outputDigest(sink3.outs); a != b {
		t.Errorf("resumed output differs from a clean run:\n%s\n---\n%s", a, b)
	}
	t.Logf("rerun rejects: %v", outputDigestRejects(sink2.outs))
	t.Logf("crash after 5 figures: %d of %d requests cached; rerun sent %d", cached, total, fm2.Requests.Load())
}

func outputDigest(outs []*Output) string {
	var lines []string
	for _, o := range outs {
		for _, s := range append(o.SFT, o.RL...) {
			lines = append(lines, s.ID+" "+s.Answer+" "+fmt.Sprint(s.Messages))
		}
		for _, r := range o.Rejects {
			lines = append(lines, r.ID+" reject "+r.Reason)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestRunSourceError stops on a broken source.
func TestRunSourceError(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	figs := testFigures(3)
	src := func(yield func(FigureInput, error) bool) {
		for _, f := range figs {
			if !yield(f, nil) {
				return
			}
		}
		yield(FigureInput{}, errors.New("figures.jsonl line 4: unexpected EOF"))
	}
	_, err := Run(context.Background(), testPipeline(t, testClient(t, fm.URL(), "")), src, &memSink{}, RunConfig{Workers: 2})
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("error %v", err)
	}
}

func TestParse(t *testing.T) {
	good := "<question>Q?</question>\n<options>\nA. one\nB. two\nC. three\n</options>\n<think>because</think>\n<answer>(B)</answer>"
	p, err := Parse(good, "mcq")
	if err != nil || p.Turns[0].Answer != "B" || len(p.Options) != 3 || p.Options[2] != "three" {
		t.Fatalf("parse: %+v %v", p, err)
	}
	bad := []struct{ text, task, reason string }{
		{"", "mcq", "parse_error"},
		{"<question>Q?</question><think>t</think>", "reasoning", "parse_error"},
		{"<question>Q?</question><think>t</answer><answer>a</answer>", "reasoning", "parse_error"},
		{"<question>Q?</question><think></think><answer>a</answer>", "reasoning", "parse_error"},
		{"<question>Q?</question><think>t</think><answer>a</answer>", "mcq", "parse_options"},
		{"<question>Q?</question><options>A. x\nC. y</options><think>t</think><answer>A</answer>", "mcq", "parse_options"},
		{"<question>Q?</question><options>A. x\nB. x</options><think>t</think><answer>A</answer>", "mcq", "parse_options"},
		{"<question>Q?</question><options>A. x</options><think>t</think><answer>A</answer>", "mcq", "parse_options"},
		{"<question>Q?</question><options>A. x\nB. y</options><think>t</think><answer>C</answer>", "mcq", "mcq_bad_answer"},
		{"<question>Q?</question><options>A. x\nB. y</options><think>t</think><answer>maybe</answer>", "mcq", "mcq_bad_answer"},
		{"<question>Q?</question><think>t</think><answer>a</answer><question>Q2</question><think>t</think><answer>b</answer>", "reasoning", "parse_error"},
		{"<question>Q?</question><answer>a</answer><think>t</think>", "description", "parse_error"},
	}
	for _, b := range bad {
		_, err := Parse(b.text, b.task)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Reason != b.reason {
			t.Errorf("Parse(%q, %s) = %v, want %s", b.text, b.task, err, b.reason)
		}
	}
	conv := "<question>Q1</question><think>t1</think><answer>a1</answer>\n<question>Q2</question><think>t2</think><answer>a2</answer>"
	if p, err := Parse(conv, "conversation"); err != nil || len(p.Turns) != 2 || p.Turns[1].Answer != "a2" {
		t.Fatalf("conversation: %+v %v", p, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("<question>Q?</question>\n<options>\nA. one\nB. two\n</options>\n<think>t</think>\n<answer>B</answer>", "mcq")
	f.Add("<question>Q1</question><think>t1</think><answer>a1</answer>", "conversation")
	f.Fuzz(func(t *testing.T, text, task string) {
		p, err := Parse(text, task)
		if err == nil {
			if len(p.Turns) == 0 {
				t.Fatal("no turns without error")
			}
			if task == "mcq" && (len(p.Options) < 2 || int(p.Turns[0].Answer[0]-'A') >= len(p.Options)) {
				t.Fatalf("bad mcq accepted: %+v", p)
			}
		}
	})
}

func TestTaskSpecs(t *testing.T) {
	ts, err := ParseTaskSpecs("mcq:short:3, reasoning, description:long")
	if err != nil || len(ts) != 3 || ts[0] != (TaskSpec{"mcq", "short", 3}) || ts[1] != (TaskSpec{"reasoning", "medium", 1}) {
		t.Fatalf("%+v %v", ts, err)
	}
	for _, bad := range []string{"", "poem", "mcq:huge", "mcq:short:0", "mcq:short:x", "mcq:a:1:2"} {
		if _, err := ParseTaskSpecs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDedup(t *testing.T) {
	d := NewDedup(0.8)
	a := "Which diagnosis best explains keratin pearls in this skin specimen? A. squamous cell carcinoma B. melanoma"
	if d.Check("a", a) != "" {
		t.Fatal("first text flagged")
	}
	if got := d.Check("b", a+" C"); got != "a" {
		t.Fatalf("near duplicate not flagged: %q", got)
	}
	if got := d.Check("c", "Describe the glandular structures with mucin in this colon image and name the lesion."); got != "" {
		t.Fatalf("distinct text flagged as duplicate of %q", got)
	}
}

func outputDigestRejects(outs []*Output) []string {
	var out []string
	for _, o := range outs {
		for _, r := range o.Rejects {
			out = append(out, r.ID+": "+r.Reason+" "+r.Detail)
		}
	}
	return out
}
