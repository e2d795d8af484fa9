package reward

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// MaxRequestBytes bounds the body of one scoring request.
const MaxRequestBytes = 64 << 20

// ScoreRequest is the body of POST /v1/score.
type ScoreRequest struct {
	// Preset optionally scores this batch with a named preset instead of the server's scorer.
	Preset string `json:"preset,omitempty"`
	// Items are the completions to score (keys as in DecodeInput).
	Items []map[string]json.RawMessage `json:"items"`
}

// ScoreResponse is the reply of POST /v1/score: one result per item, in order.
type ScoreResponse struct {
	Scorer  string   `json:"scorer"`
	Terms   []string `json:"terms"`
	Results []Result `json:"results"`
}

// OpenRLHFRequest is the body OpenRLHF's remote reward-model client posts: query[i] is the
// prompt and response as one decoded string, prompts[i] the prompt, labels[i] the reference.
type OpenRLHFRequest struct {
	Query   []string `json:"query"`
	Prompts []string `json:"prompts"`
	Labels  []string `json:"labels"`
}

// OpenRLHFResponse is what OpenRLHF reads back: rewards (used for advantages), scores (used
// for dynamic filtering) and extra_logs (logged per component).
type OpenRLHFResponse struct {
	Rewards   []float64            `json:"rewards"`
	Scores    []float64            `json:"scores"`
	ExtraLogs map[string][]float64 `json:"extra_logs"`
}

// Server serves a scorer over HTTP:
//
//	POST /v1/score    ScoreRequest → ScoreResponse
//	POST /get_reward  OpenRLHF remote reward model: {query, prompts, labels} → {rewards, scores, extra_logs}
//	GET  /v1/terms    the scorer's terms and the available presets and functions
//	GET  /healthz     "ok"
type Server struct {
	scorer *Composite
	log    *slog.Logger
	mu     sync.Mutex
	preset map[string]*Composite
}

// NewServer returns a server scoring with s.
func NewServer(s *Composite, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{scorer: s, log: log, preset: map[string]*Composite{}}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/score", s.score)
	mux.HandleFunc("POST /get_reward", s.openRLHF)
	mux.HandleFunc("GET /v1/terms", s.terms)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

func (s *Server) scorerFor(preset string) (*Composite, error) {
	if preset == "" {
		return s.scorer, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.preset[preset]; ok {
		return c, nil
	}
	c, err := Preset(preset)
	if err != nil {
		return nil, err
	}
	s.preset[preset] = c
	return c, nil
}

func (s *Server) score(w http.ResponseWriter, r *http.Request) {
	var req ScoreRequest
	if !decodeBody(w, r, &req) {
		return
	}
	sc, err := s.scorerFor(req.Preset)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp := ScoreResponse{Scorer: sc.Name, Terms: sc.Terms(), Results: make([]Result, len(req.Items))}
	for i, obj := range req.Items {
		in, err := DecodeInput(obj)
		if err != nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("item %d: %v", i, err))
			return
		}
		resp.Results[i] = sc.Score(in)
	}
	writeJSON(w, resp)
}

// eosTokens are stripped from the end of an OpenRLHF query before scoring: its queries are
// decoded with special tokens kept.
var eosTokens = []string{"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>", "<eos>", "<|end|>"}

// CompletionFromQuery recovers the completion from an OpenRLHF query: the text after the
// prompt when the query starts with it, then trailing pad/EOS tokens and whitespace removed.
func CompletionFromQuery(query, prompt string) string {
	c := query
	if prompt != "" && strings.HasPrefix(c, prompt) {
		c = c[len(prompt):]
	}
	for {
		trimmed := strings.TrimRight(c, " \n")
		cut := false
		for _, t := range eosTokens {
			if strings.HasSuffix(trimmed, t) {
				trimmed, cut = strings.TrimSuffix(trimmed, t), true
			}
		}
		if !cut {
			return c
		}
		c = trimmed
	}
}

func (s *Server) openRLHF(w http.ResponseWriter, r *http.Request) {
	var req OpenRLHFRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Prompts) != 0 && len(req.Prompts) != len(req.Query) {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("%d prompts for %d queries", len(req.Prompts), len(req.Query)))
		return
	}
	if len(req.Labels) != 0 && len(req.Labels) != len(req.Query) {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("%d labels for %d queries", len(req.Labels), len(req.Query)))
		return
	}
	resp := OpenRLHFResponse{Rewards: make([]float64, len(req.Query)), Scores: make([]float64, len(req.Query)), ExtraLogs: map[string][]float64{}}
	for _, t := range s.scorer.Terms() {
		resp.ExtraLogs[t] = make([]float64, len(req.Query))
	}
	for i, q := range req.Query {
		in := Input{}
		if len(req.Prompts) > 0 {
			in.Prompt = req.Prompts[i]
		}
		if len(req.Labels) > 0 {
			in.Reference = req.Labels[i]
		}
		in.Completion = CompletionFromQuery(q, in.Prompt)
		res := s.scorer.Score(in)
		resp.Rewards[i], resp.Scores[i] = res.Overall, res.Overall
		for k, v := range res.Components {
			resp.ExtraLogs[k][i] = v
		}
	}
	writeJSON(w, resp)
}

func (s *Server) terms(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"scorer":    s.scorer.Name,
		"terms":     Describe(s.scorer),
		"presets":   Presets(),
		"functions": Functions,
	})
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err := dec.Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("reward: writing response", "err", err)
	}
}
