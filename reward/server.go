package reward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of ServerOptions.
const (
	// DefaultAddr is where `eosin reward serve` listens unless told otherwise: the loopback
	// interface only. Give --addr :8081 (all interfaces) to serve other machines.
	DefaultAddr = "127.0.0.1:8081"
	// MaxRequestBytes is the default bound on the body of one request (larger: 413).
	MaxRequestBytes = 32 << 20
	// DefaultRequestTimeout is the default time one request may take, reading its body and
	// scoring included.
	DefaultRequestTimeout = 60 * time.Second
	// DefaultQueueWait is how long a request waits for a free slot by default before 503.
	DefaultQueueWait = 2 * time.Second
)

// ServerOptions bound what the service takes on. Zero fields take the defaults.
type ServerOptions struct {
	// MaxInflight bounds the scoring requests served at once (default GOMAXPROCS: scoring is
	// CPU work). A request waits up to QueueWait for a slot, then gets 503 with Retry-After.
	MaxInflight int
	// MaxQueue bounds the requests waiting for a slot (default 64, or 4 × MaxInflight when
	// larger; a waiting request has not had its body read); beyond it a request gets 503 at
	// once.
	MaxQueue int
	// QueueWait is how long a request waits for a slot (default DefaultQueueWait; negative:
	// no wait).
	QueueWait time.Duration
	// MaxRequestBytes bounds a request body (default MaxRequestBytes); larger bodies get 413.
	MaxRequestBytes int64
	// RequestTimeout bounds one request (default DefaultRequestTimeout): scoring stops between
	// items when it passes, or when the client goes away, and the request gets 503.
	RequestTimeout time.Duration
	// Log receives request errors (default slog.Default()).
	Log *slog.Logger
}

func (o *ServerOptions) defaults() {
	if o.MaxInflight <= 0 {
		o.MaxInflight = max(runtime.GOMAXPROCS(0), 1)
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = max(64, 4*o.MaxInflight)
	}
	if o.QueueWait == 0 {
		o.QueueWait = DefaultQueueWait
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = MaxRequestBytes
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

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
//
// The scoring routes are bounded by ServerOptions: requests at once (503 past a short wait),
// bytes per request (413) and time per request (503; scoring stops between items when the
// time is up or the client has gone).
type Server struct {
	scorer  *Composite
	opts    ServerOptions
	log     *slog.Logger
	slots   chan struct{}
	waiting atomic.Int64
	mu      sync.Mutex
	preset  map[string]*Composite
}

// NewServer returns a server scoring with s within opts.
func NewServer(s *Composite, opts ServerOptions) *Server {
	opts.defaults()
	return &Server{scorer: s, opts: opts, log: opts.Log, slots: make(chan struct{}, opts.MaxInflight),
		preset: map[string]*Composite{}}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/score", s.bounded(s.score))
	mux.HandleFunc("POST /get_reward", s.bounded(s.openRLHF))
	mux.HandleFunc("GET /v1/terms", s.terms)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

// HTTPServer returns an http.Server for the handler with timeouts that match the options:
// headers within 10 s, the whole request read within RequestTimeout, idle connections
// closed after 2 minutes, headers of at most 64 KiB.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.opts.RequestTimeout,
		WriteTimeout:      s.opts.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// bounded wraps a scoring handler: it waits for a slot (503 when none frees in time), bounds
// the body (413) and the time (the request's context ends after RequestTimeout).
func (s *Server) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxRequestBytes {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is over the limit of %d", r.ContentLength, s.opts.MaxRequestBytes))
			return
		}
		if !s.acquire(r.Context()) {
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("busy: %d requests are being scored; retry later", s.opts.MaxInflight))
			return
		}
		defer func() { <-s.slots }()
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes)
		h(w, r.WithContext(ctx))
	}
}

// acquire takes a scoring slot, waiting up to QueueWait (and while ctx lasts).
func (s *Server) acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if s.opts.QueueWait < 0 {
		return false
	}
	if s.waiting.Add(1) > int64(s.opts.MaxQueue) {
		s.waiting.Add(-1)
		return false
	}
	defer s.waiting.Add(-1)
	t := time.NewTimer(s.opts.QueueWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// scoreError answers a request whose scoring stopped early: 503 when its time ran out (the
// client that went away reads nothing).
func (s *Server) scoreError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Debug("reward: scoring stopped", "path", r.URL.Path, "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("scoring took longer than %v", s.opts.RequestTimeout))
		return
	}
	httpError(w, http.StatusServiceUnavailable, "scoring stopped: "+err.Error())
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
		if resp.Results[i], err = sc.ScoreContext(r.Context(), in); err != nil {
			s.scoreError(w, r, err)
			return
		}
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
		res, err := s.scorer.ScoreContext(r.Context(), in)
		if err != nil {
			s.scoreError(w, r, err)
			return
		}
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

// decodeBody reads the JSON body (bounded by the caller's MaxBytesReader): 413 when it is
// too large, 400 when it is not JSON of the right shape.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over the limit of %d bytes", tooLarge.Limit))
			return false
		}
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
