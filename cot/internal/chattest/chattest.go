// Package chattest is a chat-completions server for tests of package cot and its pipelines:
// it decodes the OpenAI wire format itself (independently of the client's types), answers
// eosin's prompts the way a well-behaved model would, and injects faults.
package chattest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eosinlab/eosin/shards"
)

// The wire format as the server reads and writes it.
type chatRequest struct {
	Model    string `json:"model"`
	N        int    `json:"n"`
	Messages []struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	} `json:"messages"`
}

type chatChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	FinishReason string `json:"finish_reason"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
}

// Model is a chat-completions server for tests. It answers eosin's prompts the way a
// well-behaved model would, from the caption it is given, and injects the fault named by a
// "[fault:NAME]" marker in the caption:
//
//	429       first attempt: 429 with Retry-After: 1
//	500       first two attempts: 500
//	slow      first attempt: sleeps past the client timeout
//	truncated first attempt: half a JSON body
//	drop      first attempt: connection closed without a reply
//	always500 every attempt: 500
//	badreq    400 (not retried)
//	garbage   the model ignores the structure
//	repeat    the reasoning loops
//	offcaption the correct mcq option is not in the caption
//	judge     the judge says UNSUPPORTED
//	disagree  the solver picks another answer
//	truncgen  finish_reason "length"
//	huge      every attempt: a well-formed reply padded to HugeBytes, streamed without a
//	          Content-Length
//	hugelen   as huge, with its Content-Length announced
type Model struct {
	srv      *httptest.Server
	timeout  time.Duration // the client's timeout, for "slow"
	mu       sync.Mutex
	attempts map[[32]byte]int
	// Requests counts completed chat requests (any status).
	Requests atomic.Int64
	// Bodies counts successful generations.
	Bodies atomic.Int64
	// Latency (ns) is added to every request; it may be changed while serving.
	Latency atomic.Int64
	// Inflight is the number of requests being served.
	Inflight atomic.Int64
	// BusyNs integrates in-flight requests over time (request·ns), for utilisation figures.
	BusyNs atomic.Int64
}

// diagnoses maps a distinctive feature to its diagnosis; the fake "knows" these.
var diagnoses = []struct{ diagnosis, feature string }{
	{"squamous cell carcinoma", "keratin pearls"},
	{"adenocarcinoma", "glandular structures with mucin"},
	{"melanoma", "atypical melanocytes with prominent nucleoli"},
	{"hodgkin lymphoma", "reed sternberg cells"},
	{"tuberculosis", "caseating granulomas"},
	{"leiomyoma", "interlacing fascicles of smooth muscle"},
	{"schwannoma", "verocay bodies"},
	{"papillary thyroid carcinoma", "orphan annie eye nuclei"},
}

// organs are the sites test captions name.
var organs = []string{"skin", "lung", "colon", "lymph node", "stomach", "uterus", "breast", "kidney"}

// New starts a server; timeout is the client's per-attempt timeout (the "slow" fault sleeps
// past it).
func New(timeout time.Duration) *Model {
	f := &Model{timeout: timeout, attempts: map[[32]byte]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Close stops the server.
func (f *Model) Close() { f.srv.Close() }

// URL is the API root to give a client (…/v1).
func (f *Model) URL() string { return f.srv.URL + "/v1" }

// HugeBytes is the padding of the "huge" and "hugelen" replies.
const HugeBytes = 4 << 20

var (
	faultRe   = regexp.MustCompile(`\[fault:(\w+)\]`)
	captionRe = regexp.MustCompile(`caption: (?:Photomicrograph of )?(.+?) in the ([a-z ]+?), showing (.+?)\.`)
	featureRe = regexp.MustCompile(`explains (.+?) in this`)
)

// ModelName is the model the server lists on GET /v1/models (it answers chat requests for
// any model name).
const ModelName = "fake"

func (f *Model) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
		// the listing a generator check asks for; not counted in Requests
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"object":"list","data":[{"id":%q,"object":"model"}]}`, ModelName)
		return
	}
	start := time.Now()
	f.Inflight.Add(1)
	defer func() {
		f.Inflight.Add(-1)
		f.BusyNs.Add(int64(time.Since(start)))
		f.Requests.Add(1)
	}()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	if d := time.Duration(f.Latency.Load()); d > 0 {
		time.Sleep(d)
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	text := lastUserText(req)
	fault := ""
	if m := faultRe.FindStringSubmatch(text); m != nil {
		fault = m[1]
	}
	key := sha256.Sum256(body)
	f.mu.Lock()
	f.attempts[key]++
	attempt := f.attempts[key]
	f.mu.Unlock()
	generation := strings.Contains(text, "Reply in exactly this structure")
	if generation {
		switch {
		case fault == "429" && attempt == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"rate limited"}`, http.StatusTooManyRequests)
			return
		case fault == "500" && attempt <= 2, fault == "always500":
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		case fault == "badreq":
			http.Error(w, `{"error":"image too large"}`, http.StatusBadRequest)
			return
		case fault == "slow" && attempt == 1:
			select {
			case <-time.After(3 * f.timeout):
			case <-r.Context().Done():
			}
			return
		case fault == "drop" && attempt == 1:
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
	}
	n := max(req.N, 1)
	resp := chatResponse{ID: fmt.Sprintf("fake-%x", key[:6]), Model: req.Model}
	for i := 0; i < n; i++ {
		c := chatChoice{Index: i, FinishReason: "stop"}
		c.Message.Role = "assistant"
		c.Message.Content = f.reply(text, fault, i)
		if generation && fault == "truncgen" {
			c.FinishReason = "length"
		}
		resp.Choices = append(resp.Choices, c)
	}
	if generation && (fault == "huge" || fault == "hugelen") {
		resp.Choices[0].Message.Content += strings.Repeat(" ", HugeBytes)
	}
	raw, _ := json.Marshal(resp)
	if generation && fault == "huge" {
		w.Header().Set("Content-Type", "application/json")
		for len(raw) > 0 { // in pieces, flushed: chunked, no length
			k := min(len(raw), 64<<10)
			if _, err := w.Write(raw[:k]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			raw = raw[k:]
		}
		return
	}
	if generation && fault == "truncated" && attempt == 1 {
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw[:len(raw)/2])
		return
	}
	if generation {
		f.Bodies.Add(1)
	}
	w.Header().Set("Content-Type", "application/json")
	if generation && fault == "hugelen" {
		w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	}
	w.Write(raw)
}

func lastUserText(req chatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != "user" {
			continue
		}
		switch c := m.Content.(type) {
		case string:
			return c
		case []any:
			var b strings.Builder
			for _, p := range c {
				if pm, ok := p.(map[string]any); ok && pm["type"] == "text" {
					b.WriteString(pm["text"].(string))
				}
			}
			return b.String()
		}
	}
	return ""
}

func lookupFeature(feature string) (string, int) {
	for i, d := range diagnoses {
		if d.feature == feature {
			return d.diagnosis, i
		}
	}
	return "", -1
}

// reply writes what the fake model says to a prompt.
func (f *Model) reply(text, fault string, choice int) string {
	switch {
	case strings.Contains(text, "SUPPORTED or UNSUPPORTED"):
		if fault == "judge" {
			return "UNSUPPORTED"
		}
		return "SUPPORTED."
	case strings.Contains(text, "Output the thinking process"):
		m := featureRe.FindStringSubmatch(text)
		if m == nil {
			return "<think>I cannot tell.</think><answer>unknown</answer>"
		}
		diag, _ := lookupFeature(m[1])
		hard := strings.Contains(text, "(hard)")
		if strings.Contains(text, "\nA. ") { // mcq: find the option
			for _, line := range strings.Split(text, "\n") {
				if len(line) > 3 && line[1] == '.' && strings.TrimSpace(line[3:]) == diag {
					letter := line[0]
					if hard { // a wrong option
						letter = 'A' + (letter-'A'+1)%4
					}
					return fmt.Sprintf("<think>The %s point to %s.</think><answer>%c</answer>", m[1], diag, letter)
				}
			}
			return "<think>None fits well; I guess.</think><answer>A</answer>"
		}
		if hard {
			diag = "a reactive process"
		}
		return fmt.Sprintf("<think>The %s point to %s.</think><answer>%s</answer>", m[1], diag, diag)
	}
	m := captionRe.FindStringSubmatch(text)
	if m == nil {
		return "I am not sure what you want."
	}
	diag, organ, feature := m[1], m[2], m[3]
	if fault == "garbage" {
		return "This is a nice picture of " + organ + " tissue."
	}
	hard := ""
	if fault == "disagree" {
		hard = " (hard)"
	}
	think := fmt.Sprintf("Looking at the %s specimen first, the overall architecture is disturbed at low power. "+
		"At higher magnification the image shows %s, which is the key finding here. "+
		"Variant %d of this reasoning weighs the alternatives: each competing process would lack this feature "+
		"or show different cells, so the caption's description settles the question for %s.", organ, feature, choice, diag)
	if fault == "repeat" {
		think = strings.Repeat("the cells are atypical and the cells are atypical ", 12)
	}
	switch {
	case strings.Contains(text, "multiple-choice question"):
		correct := diag
		if fault == "offcaption" {
			correct = "a benign reactive lesion"
		}
		opts := []string{correct}
		for j := 1; len(opts) < 4; j++ {
			d := diagnoses[(len(diag)+j+choice)%len(diagnoses)].diagnosis
			if d != diag {
				opts = append(opts, d)
			}
		}
		pos := (len(organ) + choice) % 4
		opts[0], opts[pos] = opts[pos], opts[0]
		return fmt.Sprintf("<question>Which diagnosis best explains %s in this %s specimen?%s</question>\n<options>\nA. %s\nB. %s\nC. %s\nD. %s\n</options>\n<think>%s</think>\n<answer>%c</answer>",
			feature, organ, hard, opts[0], opts[1], opts[2], opts[3], think, 'A'+pos)
	case strings.Contains(text, "description of the image"):
		return fmt.Sprintf("<question>Describe the histological findings in this %s image.</question>\n<think>%s</think>\n<answer>The image shows %s of the %s, with %s.</answer>", organ, think, diag, organ, feature)
	case strings.Contains(text, "several steps of reasoning"):
		return fmt.Sprintf("<question>Which diagnosis best explains %s in this %s specimen?%s</question>\n<think>%s</think>\n<answer>%s</answer>", feature, organ, hard, think, diag)
	case strings.Contains(text, "conversation of"):
		return fmt.Sprintf("<question>What stands out in this %s image?</question>\n<think>%s</think>\n<answer>The %s.</answer>\n"+
			"<question>What does that suggest?</question>\n<think>%s</think>\n<answer>It suggests %s.</answer>", organ, think, feature, think, diag)
	}
	return "unexpected prompt"
}

// Figures builds n figure records whose captions carry the given faults (one per figure, in
// order; figures beyond the faults are clean), with their image bytes (nil for "noimage").
func Figures(n int, faults ...string) ([]shards.Figure, [][]byte) {
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes")
	var figs []shards.Figure
	var imgs [][]byte
	for i := 0; i < n; i++ {
		d := diagnoses[i%len(diagnoses)]
		organ := organs[(i/len(diagnoses)+i)%len(organs)]
		caption := fmt.Sprintf("Photomicrograph of %s in the %s, showing %s. Case %d, H&E stain.", d.diagnosis, organ, d.feature, i)
		if i < len(faults) && faults[i] != "" {
			caption += " [fault:" + faults[i] + "]"
		}
		figs = append(figs, shards.Figure{ID: fmt.Sprintf("fig%03d", i), Label: fmt.Sprintf("Figure %d", i+1), Caption: caption,
			Doc: shards.Doc{SHA256: fmt.Sprintf("%064x", i), URI: fmt.Sprintf("file:///docs/book%d.pdf", i%3)}, Page: i + 1,
			Mentions: []string{fmt.Sprintf("As Figure %d shows, %s is typical of %s.", i+1, d.feature, d.diagnosis)},
			Image:    shards.ImageInfo{Format: "png", Width: 64, Height: 64, Source: "embedded"}})
		img := png
		if i < len(faults) && faults[i] == "noimage" {
			img = nil
		}
		imgs = append(imgs, img)
	}
	return figs, imgs
}
