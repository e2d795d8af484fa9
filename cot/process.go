package cot

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/eosinlab/eosin/internal/safefile"
	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards"
)

// TaskSpec asks for N samples of one task at one reasoning length per figure.
type TaskSpec struct {
	Task   string `yaml:"task" json:"task"`     // mcq | description | reasoning | conversation
	Length string `yaml:"length" json:"length"` // short | medium | long
	N      int    `yaml:"n" json:"n"`           // samples per figure (the request's n)
}

// ParseTaskSpecs reads "mcq:short:2,reasoning:long" (length defaults to medium, n to 1).
func ParseTaskSpecs(s string) ([]TaskSpec, error) {
	var out []TaskSpec
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, ":")
		ts := TaskSpec{Task: f[0], Length: "medium", N: 1}
		if len(f) > 1 && f[1] != "" {
			ts.Length = f[1]
		}
		if len(f) > 2 {
			if _, err := fmt.Sscanf(f[2], "%d", &ts.N); err != nil || ts.N < 1 {
				return nil, fmt.Errorf("task %q: bad n %q", part, f[2])
			}
		}
		if len(f) > 3 {
			return nil, fmt.Errorf("task %q: want task[:length[:n]]", part)
		}
		if err := ts.validate(); err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	if len(out) == 0 {
		return nil, errors.New("no tasks")
	}
	return out, nil
}

func (t TaskSpec) validate() error {
	switch t.Task {
	case "mcq", "description", "reasoning", "conversation":
	default:
		return fmt.Errorf("unknown task %q (mcq, description, reasoning, conversation)", t.Task)
	}
	if _, ok := lengthWords[t.Length]; !ok {
		return fmt.Errorf("unknown reasoning length %q (short, medium, long)", t.Length)
	}
	if t.N < 1 {
		return fmt.Errorf("task %s: n %d < 1", t.Task, t.N)
	}
	return nil
}

// lengthWords are the reasoning lengths asked for in the prompt, in words.
var lengthWords = map[string][2]int{"short": {20, 80}, "medium": {60, 200}, "long": {150, 500}}

// Config configures generation and verification.
type Config struct {
	// Model is the model name sent to the server.
	Model string
	// Tasks lists what to generate per figure.
	Tasks []TaskSpec
	// Temperature, TopP and MaxTokens are the sampling parameters of generation.
	Temperature float64
	TopP        float64
	MaxTokens   int
	// Options is the number of options of mcq questions (default 4); Turns the number of
	// conversation turns (default 3).
	Options, Turns int
	// Judge asks the generator whether each answer is supported by the caption.
	Judge bool
	// Agreement is k: a kept sample's question is answered k more times from the image and
	// the majority must agree with its answer (0 or 1: off).
	Agreement int
	// AgreementTemperature samples the k answers (default 0.7).
	AgreementTemperature float64
	// MinSupport is the fraction of content words of the correct mcq option (or a reasoning
	// answer) that must occur in the caption or mentions (default 0.5; negative: off).
	MinSupport float64
	// LengthSlack widens the reasoning-length bounds: a think block must hold between
	// min/LengthSlack and max·LengthSlack words (default 2).
	LengthSlack float64
	// MaxRepetition is the highest repeated-4-gram fraction of a think block (default 0.25).
	MaxRepetition float64
	// Scorer scores each kept assistant turn (default: reward preset "default"); MinReward
	// rejects turns scoring below it.
	Scorer    *reward.Composite
	MinReward float64
	// Templates renders prompts (default: the built-ins).
	Templates *Templates
}

func (c *Config) defaults() error {
	if c.Options == 0 {
		c.Options = 4
	}
	if c.Turns == 0 {
		c.Turns = 3
	}
	if c.AgreementTemperature == 0 {
		c.AgreementTemperature = 0.7
	}
	if c.MinSupport == 0 {
		c.MinSupport = 0.5
	}
	if c.LengthSlack == 0 {
		c.LengthSlack = 2
	}
	if c.MaxRepetition == 0 {
		c.MaxRepetition = 0.25
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = 2048
	}
	if c.Scorer == nil {
		s, err := reward.Preset("default")
		if err != nil {
			return err
		}
		c.Scorer = s
	}
	if c.Templates == nil {
		t, err := LoadTemplates("")
		if err != nil {
			return err
		}
		c.Templates = t
	}
	if len(c.Tasks) == 0 {
		return errors.New("cot: no tasks")
	}
	for _, t := range c.Tasks {
		if err := t.validate(); err != nil {
			return err
		}
	}
	if c.Options < 2 || c.Options > 8 {
		return fmt.Errorf("cot: %d options, want 2 to 8", c.Options)
	}
	return nil
}

// Generator is what the pipeline needs from a model server.
type Generator interface {
	Complete(ctx context.Context, req *ChatRequest) (*ChatResponse, error)
}

// Pipeline turns figures into samples.
type Pipeline struct {
	cfg Config
	gen Generator
}

// NewPipeline returns a pipeline generating with gen.
func NewPipeline(gen Generator, cfg Config) (*Pipeline, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Pipeline{cfg: cfg, gen: gen}, nil
}

// FigureInput is one figure with its image bytes.
type FigureInput struct {
	Figure shards.Figure
	Image  []byte
	// ImageFormat is png | jpeg | … (default: Figure.Image.Format, else sniffed).
	ImageFormat string
	// ImageError says why the figure's image could not be used (a symlink out of the folder,
	// bytes that are not the recorded image); the figure's samples are bad_image rejects.
	ImageError string
}

// Output is what one figure yields. Every requested sample is either in SFT or in Rejects.
type Output struct {
	FigureID string
	// SFT samples carry the assistant turn; RL samples (mcq and reasoning tasks) carry the
	// problem, options and answer only, and share their SFT twin's id with an "-rl" suffix.
	SFT, RL []shards.Sample
	Rejects []shards.Reject
	// Requested counts the samples asked for (Σ n over tasks).
	Requested int
}

// SystemPrompt is the system message of SFT samples and generation requests.
func (p *Pipeline) SystemPrompt() (string, error) {
	return p.cfg.Templates.Render("system", PromptData{})
}

// Process generates, parses and verifies the samples of one figure. It returns an error only
// when ctx is cancelled; every other failure becomes a reject. Given the same generator
// responses (e.g. from the cache) it returns the same output.
func (p *Pipeline) Process(ctx context.Context, in FigureInput) (*Output, error) {
	fig := in.Figure
	out := &Output{FigureID: fig.ID}
	for _, t := range p.cfg.Tasks {
		out.Requested += t.N
	}
	reject := func(id, reason, detail string) {
		out.Rejects = append(out.Rejects, shards.Reject{Stage: "cot", Kind: "sample", ID: id, URI: fig.Doc.URI,
			DocSHA: fig.Doc.SHA256, Page: fig.Page, Reason: reason, Detail: detail})
	}
	rejectAll := func(reason, detail string) (*Output, error) {
		for _, t := range p.cfg.Tasks {
			for i := 0; i < t.N; i++ {
				reject(sampleID(fig.ID, t, i), reason, detail)
			}
		}
		return out, nil
	}
	if in.ImageError != "" {
		return rejectAll("bad_image", in.ImageError)
	}
	if len(in.Image) == 0 || strings.TrimSpace(fig.Caption) == "" {
		reason := "no_image"
		if len(in.Image) > 0 {
			reason = "no_caption"
		}
		return rejectAll(reason, "")
	}
	format := imageFormat(in)
	// Only image bytes of the format they claim travel to the model server.
	if err := safefile.CheckImage("figure "+fig.ID+" image", in.Image, format, ""); err != nil {
		return rejectAll("bad_image", err.Error())
	}
	dataURL := "data:image/" + format + ";base64," + base64.StdEncoding.EncodeToString(in.Image)
	system, err := p.SystemPrompt()
	if err != nil {
		return nil, err
	}
	for _, t := range p.cfg.Tasks {
		prompt, err := p.cfg.Templates.Render(t.Task, p.promptData(fig, t))
		if err != nil {
			return nil, err
		}
		req := &ChatRequest{Model: p.cfg.Model, N: t.N, MaxTokens: p.cfg.MaxTokens,
			Temperature: ptr(p.cfg.Temperature), Messages: []ChatMessage{
				{Role: "system", Content: system},
				{Role: "user", Content: []ContentPart{{Type: "image_url", ImageURL: &ImageURL{URL: dataURL}}, {Type: "text", Text: prompt}}},
			}}
		if p.cfg.TopP > 0 {
			req.TopP = ptr(p.cfg.TopP)
		}
		resp, err := p.gen.Complete(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			for i := 0; i < t.N; i++ {
				reject(sampleID(fig.ID, t, i), genReason(err), err.Error())
			}
			continue
		}
		byIndex := map[int]ChatChoice{}
		for i, c := range resp.Choices {
			if c.Index == 0 && i > 0 { // servers that leave index unset
				c.Index = i
			}
			byIndex[c.Index] = c
		}
		for i := 0; i < t.N; i++ {
			id := sampleID(fig.ID, t, i)
			c, ok := byIndex[i]
			if !ok {
				reject(id, "generator_missing_choice", fmt.Sprintf("%d choices for n=%d", len(resp.Choices), t.N))
				continue
			}
			sft, rl, reason, detail, err := p.verify(ctx, fig, t, id, c, dataURL, system)
			if err != nil {
				return nil, err
			}
			if reason != "" {
				reject(id, reason, detail)
				continue
			}
			sft.Images = []shards.SampleImage{{Format: format, Bytes: in.Image}}
			out.SFT = append(out.SFT, *sft)
			if rl != nil {
				rl.Images = sft.Images
				out.RL = append(out.RL, *rl)
			}
		}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

func genReason(err error) string {
	var api *APIError
	if errors.As(err, &api) {
		return fmt.Sprintf("generator_http_%d", api.Status)
	}
	var tooLarge *ResponseTooLargeError
	if errors.As(err, &tooLarge) {
		return "response_too_large"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "generator_timeout"
	}
	return "generator_error"
}

// sampleID is <figure>-<task>-<length>-<i>: stable, no dots.
func sampleID(fig string, t TaskSpec, i int) string {
	return fmt.Sprintf("%s-%s-%s-%d", fig, t.Task, t.Length, i)
}

func ext(format string) string {
	if format == "jpeg" {
		return "jpg"
	}
	return format
}

func imageFormat(in FigureInput) string {
	f := strings.ToLower(in.ImageFormat)
	if f == "" {
		f = strings.ToLower(in.Figure.Image.Format)
	}
	if f == "" || f == "jpg" {
		switch ct := http.DetectContentType(in.Image); ct {
		case "image/png":
			return "png"
		case "image/jpeg":
			return "jpeg"
		case "image/webp":
			return "webp"
		}
		return "jpeg"
	}
	return f
}

func (p *Pipeline) promptData(fig shards.Figure, t TaskSpec) PromptData {
	lw := lengthWords[t.Length]
	label := fig.Label
	if label == "" {
		label = "Figure"
	}
	return PromptData{Label: label, Caption: strings.TrimSpace(fig.Caption), Mentions: fig.Mentions, Task: t.Task,
		Length: t.Length, LengthWords: fmt.Sprintf("%d to %d", lw[0], lw[1]), Options: p.cfg.Options,
		LastLetter: string(rune('A' + p.cfg.Options - 1)), Turns: p.cfg.Turns}
}

// verify parses and checks one generated choice; a non-empty reason rejects it.
func (p *Pipeline) verify(ctx context.Context, fig shards.Figure, t TaskSpec, id string, c ChatChoice,
	dataURL, system string) (sft, rl *shards.Sample, reason, detail string, err error) {
	if c.FinishReason == "length" {
		return nil, nil, "truncated", "generation hit max_tokens", nil
	}
	parsed, perr := Parse(c.Message.Content, t.Task)
	if perr != nil {
		var pe *ParseError
		if errors.As(perr, &pe) {
			return nil, nil, pe.Reason, pe.Detail, nil
		}
		return nil, nil, "parse_error", perr.Error(), nil
	}
	if t.Task == "mcq" && len(parsed.Options) != p.cfg.Options {
		return nil, nil, "parse_options", fmt.Sprintf("%d options, asked for %d", len(parsed.Options), p.cfg.Options), nil
	}
	if t.Task == "conversation" && len(parsed.Turns) < 2 {
		return nil, nil, "parse_error", "conversation with one turn", nil
	}
	lw := lengthWords[t.Length]
	lo, hi := int(float64(lw[0])/p.cfg.LengthSlack), int(float64(lw[1])*p.cfg.LengthSlack)
	for _, turn := range parsed.Turns {
		n := len(strings.Fields(turn.Think))
		if n < lo {
			return nil, nil, "think_too_short", fmt.Sprintf("%d words < %d", n, lo), nil
		}
		if n > hi {
			return nil, nil, "think_too_long", fmt.Sprintf("%d words > %d", n, hi), nil
		}
		if r := reward.RepetitionRate(turn.Think, 4); r > p.cfg.MaxRepetition {
			return nil, nil, "repetition", fmt.Sprintf("repeated 4-gram fraction %.2f", r), nil
		}
	}
	scores := map[string]float64{}
	first := parsed.Turns[0]
	// Rules: the correct option (or short answer) must be grounded in the caption.
	if p.cfg.MinSupport >= 0 && (t.Task == "mcq" || t.Task == "reasoning") {
		answerText := first.Answer
		if t.Task == "mcq" {
			answerText = parsed.Options[first.Answer[0]-'A']
		}
		s := support(answerText, fig.Caption+" "+strings.Join(fig.Mentions, " "))
		scores["caption_support"] = s
		if s < p.cfg.MinSupport {
			return nil, nil, "answer_not_in_caption", fmt.Sprintf("support %.2f < %.2f for %q", s, p.cfg.MinSupport, answerText), nil
		}
	}
	optionsText := ""
	if parsed.Options != nil {
		optionsText = OptionsText(parsed.Options)
	}
	if p.cfg.Judge {
		ok, detail, err := p.judge(ctx, fig, first, optionsText, parsed.Options)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, "", "", ctx.Err()
			}
			return nil, nil, "judge_" + strings.TrimPrefix(genReason(err), "generator_"), err.Error(), nil
		}
		if detail != "" {
			return nil, nil, "judge_unparseable", detail, nil
		}
		scores["judge"] = b2f(ok)
		if !ok {
			return nil, nil, "judge_unsupported", "the judge found the answer unsupported by the caption", nil
		}
	}
	if p.cfg.Agreement > 1 && (t.Task == "mcq" || t.Task == "reasoning") {
		agree, meanReward, err := p.agreement(ctx, first, optionsText, parsed.Options, dataURL, system)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, "", "", ctx.Err()
			}
			return nil, nil, "agreement_" + strings.TrimPrefix(genReason(err), "generator_"), err.Error(), nil
		}
		scores["agreement"] = agree
		scores["solver_reward"] = meanReward
		if agree <= 0.5 {
			return nil, nil, "disagreement", fmt.Sprintf("%.0f%% of %d answers agree", 100*agree, p.cfg.Agreement), nil
		}
	}
	problem := first.Question
	if optionsText != "" {
		problem += "\n" + optionsText
	}
	msgs := []shards.Message{{Role: "system", Content: system}}
	for i, turn := range parsed.Turns {
		q := turn.Question
		if i == 0 {
			q = "<image>\n" + problem
		}
		msgs = append(msgs, shards.Message{Role: "user", Content: q},
			shards.Message{Role: "assistant", Content: "<think>" + turn.Think + "</think><answer>" + turn.Answer + "</answer>"})
	}
	// Reward scores of the assistant turn against its own answer: format, repetition and
	// answer extraction must hold for the trainer to use it.
	res := p.cfg.Scorer.Score(reward.Input{Completion: msgs[2].Content, Reference: first.Answer, Task: t.Task, Options: parsed.Options, Prompt: problem})
	scores["reward"] = res.Overall
	for k, v := range res.Components {
		scores["reward/"+k] = v
	}
	if res.Overall < p.cfg.MinReward {
		return nil, nil, "reward_below_min", fmt.Sprintf("reward %.3f < %.3f", res.Overall, p.cfg.MinReward), nil
	}
	gen := shards.Generator{Model: p.cfg.Model, Params: map[string]any{"temperature": p.cfg.Temperature,
		"max_tokens": p.cfg.MaxTokens, "length": t.Length, "n": t.N}}
	if p.cfg.TopP > 0 {
		gen.Params["top_p"] = p.cfg.TopP
	}
	task := t.Task
	sft = &shards.Sample{ID: id, FigureID: fig.ID, Task: task, Problem: problem, Options: parsed.Options,
		Answer: first.Answer, Messages: msgs, Generator: gen, Scores: scores, Verdict: shards.Verdict{Keep: true}}
	if t.Task == "mcq" || t.Task == "reasoning" {
		rl = &shards.Sample{ID: id + "-rl", FigureID: fig.ID, Task: task, Problem: "<image>\n" + problem,
			Options: parsed.Options, Answer: first.Answer, Generator: gen, Scores: scores, Verdict: shards.Verdict{Keep: true}}
	}
	return sft, rl, "", "", nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var verdictRe = regexp.MustCompile(`(?i)\b(UNSUPPORTED|NOT SUPPORTED|SUPPORTED)\b`)

// judge asks the generator whether the answer is supported by the caption. detail is set
// when the reply cannot be read.
func (p *Pipeline) judge(ctx context.Context, fig shards.Figure, turn Turn, optionsText string, opts []string) (ok bool, detail string, err error) {
	answer := turn.Answer
	if opts != nil {
		answer = turn.Answer + ". " + opts[turn.Answer[0]-'A']
	}
	prompt, err := p.cfg.Templates.Render("judge", PromptData{Caption: fig.Caption, Mentions: fig.Mentions,
		Question: turn.Question, OptionsText: optionsText, Answer: answer})
	if err != nil {
		return false, "", err
	}
	resp, err := p.gen.Complete(ctx, &ChatRequest{Model: p.cfg.Model, N: 1, MaxTokens: 16, Temperature: ptr(0.0),
		Messages: []ChatMessage{{Role: "user", Content: prompt}}})
	if err != nil {
		return false, "", err
	}
	m := verdictRe.FindStringSubmatch(resp.Choices[0].Message.Content)
	if m == nil {
		return false, fmt.Sprintf("judge reply %q", truncate(resp.Choices[0].Message.Content, 80)), nil
	}
	return strings.EqualFold(m[1], "SUPPORTED"), "", nil
}

// agreement answers the question k times from the image and returns the fraction of answers
// agreeing with the sample's and the mean reward of the k answers against it.
func (p *Pipeline) agreement(ctx context.Context, turn Turn, optionsText string, opts []string, dataURL, system string) (float64, float64, error) {
	prompt, err := p.cfg.Templates.Render("solve", PromptData{Question: turn.Question, OptionsText: optionsText})
	if err != nil {
		return 0, 0, err
	}
	k := p.cfg.Agreement
	resp, err := p.gen.Complete(ctx, &ChatRequest{Model: p.cfg.Model, N: k, MaxTokens: p.cfg.MaxTokens,
		Temperature: ptr(p.cfg.AgreementTemperature), Messages: []ChatMessage{
			{Role: "system", Content: system},
			{Role: "user", Content: []ContentPart{{Type: "image_url", ImageURL: &ImageURL{URL: dataURL}}, {Type: "text", Text: prompt}}},
		}})
	if err != nil {
		return 0, 0, err
	}
	agree, total := 0, 0.0
	for _, c := range resp.Choices {
		in := reward.Input{Completion: c.Message.Content, Reference: turn.Answer, Options: opts}
		var acc float64
		if opts != nil {
			in.Task = "mcq"
			acc = reward.AccuracyMCQ(in)
		} else {
			acc = reward.AccuracyOpen(reward.OpenParams{F1: true, RelTol: 0.01})(in)
		}
		if acc >= 0.5 {
			agree++
		}
		total += p.cfg.Scorer.Score(in).Overall
	}
	// missing choices count as disagreeing
	return float64(agree) / float64(k), total / float64(k), nil
}

var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`the and for with from that this these those are was were has have had its into
		onto than then there their which while where when what who whom whose will would can could may might
		shows showing shown seen image figure panel arrow arrows note also both each other such very more most
		less least not but all any some one two three between within without about above below under over`) {
		m[w] = true
	}
	return m
}()

// support is the fraction of content words (3+ letters, not stopwords) of answer that occur in
// context, comparing 5-letter prefixes so that "nuclei" meets "nuclear". An answer with no
// content words is fully supported.
func support(answer, context string) float64 {
	ctx := map[string]bool{}
	for _, w := range contentWords(context) {
		ctx[w] = true
	}
	words := contentWords(answer)
	if len(words) == 0 {
		return 1
	}
	hit := 0
	for _, w := range words {
		if ctx[w] {
			hit++
		}
	}
	return float64(hit) / float64(len(words))
}

func contentWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	}) {
		if len([]rune(w)) < 3 || stopwords[w] {
			continue
		}
		if r := []rune(w); len(r) > 5 {
			w = string(r[:5])
		}
		out = append(out, w)
	}
	return out
}
