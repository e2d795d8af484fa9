// Package cot generates chain-of-thought samples from figure–caption pairs with a model server
// speaking the OpenAI chat-completions protocol, then parses, verifies and filters them into
// SFT and RL samples. Every pair ends as samples or as rejects with a reason.
package cot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
)

// ChatMessage is one message of a chat-completions request. Content is a string or a list of
// ContentPart (text and image_url parts).
type ChatMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

// ContentPart is one part of a multimodal message.
type ContentPart struct {
	Type     string    `json:"type"` // text | image_url
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL carries an image, here always as a data URL.
type ImageURL struct {
	URL string `json:"url"`
}

// ChatRequest is a chat-completions request body.
type ChatRequest struct {
	Model       string        `json:"model"`
	Messages    []ChatMessage `json:"messages"`
	N           int           `json:"n,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
	TopP        *float64      `json:"top_p,omitempty"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Seed        *int64        `json:"seed,omitempty"`
}

// ChatChoice is one generated sample.
type ChatChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	FinishReason string `json:"finish_reason"`
}

// ChatResponse is a chat-completions response body.
type ChatResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL is the server's API root, e.g. http://localhost:8000/v1; "/chat/completions" is
	// appended.
	BaseURL string
	// APIKeyEnv names the environment variable holding the API key (default OPENAI_API_KEY);
	// no key, no Authorization header.
	APIKeyEnv string
	// Concurrency bounds the requests in flight (default 16).
	Concurrency int
	// Timeout bounds one attempt (default 120 s).
	Timeout time.Duration
	// MaxAttempts bounds attempts per request, the first included (default 6).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the jittered exponential backoff (defaults 500 ms, 30 s).
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter caps how long a Retry-After header may make a request wait (default 5 min).
	MaxRetryAfter time.Duration
	// MaxResponseBytes bounds the body of one response (default DefaultMaxResponseBytes). A
	// larger response fails the request with a *ResponseTooLargeError, at once (not retried)
	// and without reading past the limit; it is never cached.
	MaxResponseBytes int64
	// CacheDir holds responses keyed by the request's hash: a local directory or an
	// s3://bucket/prefix location shared by many workers; empty disables the cache.
	CacheDir string
	// CacheS3 configures an s3:// cache location (zero fields come from the environment).
	CacheS3 storage.S3Config
	// Refresh ignores the cached responses: every request goes to the server, and its response
	// replaces the cached one.
	Refresh bool
	// Log receives retry and cache messages (default slog.Default()).
	Log *slog.Logger
}

func (c *ClientConfig) defaults() {
	if c.APIKeyEnv == "" {
		c.APIKeyEnv = "OPENAI_API_KEY"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.Timeout <= 0 {
		c.Timeout = 120 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 6
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 500 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = 5 * time.Minute
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// DefaultMaxResponseBytes is the default bound on one response body: room for n long
// chain-of-thought choices many times over.
const DefaultMaxResponseBytes = 16 << 20

// maxErrorBody bounds what is read of a non-2xx reply (it only goes into the error message).
const maxErrorBody = 64 << 10

// ResponseTooLargeError is a response whose body is over ClientConfig.MaxResponseBytes.
type ResponseTooLargeError struct {
	// Limit is the bound; Size the announced Content-Length, or −1 when the body ran past
	// the limit while being read.
	Limit, Size int64
}

func (e *ResponseTooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("generator: response of %d bytes is over the limit of %d (--max-response-bytes)", e.Size, e.Limit)
	}
	return fmt.Sprintf("generator: response is over the limit of %d bytes (--max-response-bytes)", e.Limit)
}

// ClientStats counts what a client did.
type ClientStats struct {
	Requests  int64 // Complete calls
	CacheHits int64 // answered from the cache
	Attempts  int64 // HTTP attempts
	Retries   int64 // attempts after the first
	Failures  int64 // requests that failed after all attempts
	// Completed counts the requests answered or failed for good (Requests less those in
	// flight or given up by a cancelled context).
	Completed int64
	// SlotSeconds integrates the requests in flight over time (request·seconds): divided by
	// Concurrency × wall time it is the share of the concurrency kept busy.
	SlotSeconds float64
}

// Client sends chat-completions requests with bounded concurrency, retries and a cache.
type Client struct {
	cfg   ClientConfig
	store storage.Store // the cache when it is an s3:// location (else files under CacheDir)
	url   string
	key   string
	http  *http.Client
	sem   chan struct{}

	requests, cacheHits, attempts, retries, failures, completed atomic.Int64

	errMu   sync.Mutex
	lastErr error // the last request failure

	occMu    sync.Mutex
	inflight int
	lastOcc  time.Time
	slotNs   float64
}

// track adds d to the requests in flight, integrating occupancy over time.
func (c *Client) track(d int) {
	now := time.Now()
	c.occMu.Lock()
	if !c.lastOcc.IsZero() {
		c.slotNs += float64(c.inflight) * float64(now.Sub(c.lastOcc))
	}
	c.inflight += d
	c.lastOcc = now
	c.occMu.Unlock()
}

// NewClient returns a client for cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg.defaults()
	if cfg.BaseURL == "" {
		return nil, errors.New("generator: no base URL")
	}
	var store storage.Store
	if strings.HasPrefix(cfg.CacheDir, "s3://") {
		st, err := storage.Open(context.Background(), cfg.CacheDir, cfg.CacheS3)
		if err != nil {
			return nil, fmt.Errorf("generator cache %s: %w", cfg.CacheDir, err)
		}
		store = st
	} else if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("generator cache: %w", err)
		}
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Concurrency * 2,
		MaxIdleConnsPerHost: cfg.Concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{
		cfg:   cfg,
		store: store,
		url:   strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions",
		key:   os.Getenv(cfg.APIKeyEnv),
		http:  &http.Client{Transport: tr},
		sem:   make(chan struct{}, cfg.Concurrency),
	}, nil
}

// Close releases the client's idle connections and its cache store.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	if c.store != nil {
		return c.store.Close()
	}
	return nil
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.track(0)
	c.occMu.Lock()
	slot := c.slotNs / 1e9
	c.occMu.Unlock()
	return ClientStats{Requests: c.requests.Load(), CacheHits: c.cacheHits.Load(), Attempts: c.attempts.Load(),
		Retries: c.retries.Load(), Failures: c.failures.Load(), Completed: c.completed.Load(), SlotSeconds: slot}
}

// LastError returns the error of the last request that failed after all its attempts (nil
// when none has).
func (c *Client) LastError() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.lastErr
}

// BaseURL returns the server's API root.
func (c *Client) BaseURL() string { return c.cfg.BaseURL }

// Concurrency returns the bound on requests in flight.
func (c *Client) Concurrency() int { return c.cfg.Concurrency }

// APIError is a non-2xx reply.
type APIError struct {
	Status     int
	Body       string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("generator: HTTP %d: %s", e.Status, truncate(e.Body, 200))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// RequestKey is the cache key of a request: the sha256 of its JSON encoding.
func RequestKey(req *ChatRequest) (string, []byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", nil, fmt.Errorf("generator: encoding request: %w", err)
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), body, nil
}

// Complete sends req and returns the response, from the cache when it holds one. Transient
// failures (429, 5xx, 408, timeouts, connection errors, malformed bodies) are retried with
// jittered exponential backoff, honouring Retry-After; others fail at once.
func (c *Client) Complete(ctx context.Context, req *ChatRequest) (*ChatResponse, error) {
	resp, _, err := c.CompleteInfo(ctx, req)
	return resp, err
}

// CallInfo tells how one request was answered.
type CallInfo struct {
	// Cached is set when the response came from the cache.
	Cached bool
	// Attempts is the number of HTTP attempts made (0 when cached).
	Attempts int
}

// CompleteInfo is Complete, also telling how the request was answered.
func (c *Client) CompleteInfo(ctx context.Context, req *ChatRequest) (*ChatResponse, CallInfo, error) {
	var info CallInfo
	c.requests.Add(1)
	key, body, err := RequestKey(req)
	if err != nil {
		return nil, info, err
	}
	if !c.cfg.Refresh {
		if resp, ok := c.cacheGet(ctx, key); ok {
			c.cacheHits.Add(1)
			c.completed.Add(1)
			info.Cached = true
			return resp, info, nil
		}
	}
	var lastErr error
	for attempt := 0; attempt < c.cfg.MaxAttempts; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
			wait := c.backoff(attempt, lastErr)
			c.cfg.Log.Debug("generator retry", "attempt", attempt+1, "wait", wait, "err", lastErr)
			select {
			case <-ctx.Done():
				return nil, info, ctx.Err()
			case <-time.After(wait):
			}
		}
		info.Attempts++
		resp, raw, err := c.attempt(ctx, body)
		if err == nil {
			c.cachePut(ctx, key, raw)
			c.completed.Add(1)
			return resp, info, nil
		}
		if ctx.Err() != nil {
			return nil, info, ctx.Err()
		}
		lastErr = err
		if !retryable(err) {
			break
		}
	}
	c.failures.Add(1)
	c.completed.Add(1)
	c.errMu.Lock()
	c.lastErr = lastErr
	c.errMu.Unlock()
	return nil, info, lastErr
}

func (c *Client) attempt(ctx context.Context, body []byte) (*ChatResponse, []byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	c.track(1)
	defer func() { c.track(-1); <-c.sem }()
	c.attempts.Add(1)
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("generator: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.key)
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, nil, &transientError{err}
	}
	defer hresp.Body.Close()
	if hresp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(hresp.Body, maxErrorBody))
		return nil, nil, &APIError{Status: hresp.StatusCode, Body: string(raw), RetryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"))}
	}
	limit := c.cfg.MaxResponseBytes
	if hresp.ContentLength > limit {
		return nil, nil, &ResponseTooLargeError{Limit: limit, Size: hresp.ContentLength}
	}
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if err != nil {
		return nil, nil, &transientError{fmt.Errorf("reading response: %w", err)}
	}
	if int64(len(raw)) > limit {
		return nil, nil, &ResponseTooLargeError{Limit: limit, Size: -1}
	}
	var resp ChatResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, nil, &transientError{fmt.Errorf("decoding response: %w", err)}
	}
	if len(resp.Choices) == 0 {
		return nil, nil, &transientError{errors.New("response has no choices")}
	}
	return &resp, raw, nil
}

// transientError marks failures worth retrying that carry no HTTP status.
type transientError struct{ err error }

func (e *transientError) Error() string { return "generator: " + e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status == http.StatusTooManyRequests || api.Status == http.StatusRequestTimeout ||
			api.Status == http.StatusConflict || api.Status >= 500
	}
	var tr *transientError
	return errors.As(err, &tr)
}

// backoff is the wait before attempt n (n ≥ 1): Retry-After when the server sent one (capped
// at MaxRetryAfter), else full jitter over BackoffBase·2^(n−1) capped at BackoffMax.
func (c *Client) backoff(n int, lastErr error) time.Duration {
	var api *APIError
	if errors.As(lastErr, &api) && api.RetryAfter > 0 {
		return min(api.RetryAfter, c.cfg.MaxRetryAfter)
	}
	ceil := c.cfg.BackoffBase << min(n-1, 20)
	if ceil <= 0 || ceil > c.cfg.BackoffMax {
		ceil = c.cfg.BackoffMax
	}
	return ceil/2 + rand.N(ceil/2+1)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func (c *Client) cachePath(key string) string {
	return filepath.Join(c.cfg.CacheDir, key[:2], key+".json")
}

// cacheKey is the object key of a cache entry in a store (the same layout as on disk).
func cacheKey(key string) string { return key[:2] + "/" + key + ".json" }

func (c *Client) cacheGet(ctx context.Context, key string) (*ChatResponse, bool) {
	var raw []byte
	var err error
	switch {
	case c.store != nil:
		raw, err = storage.ReadAll(ctx, c.store, cacheKey(key))
		if err != nil && !errors.Is(err, storage.ErrNotExist) {
			c.cfg.Log.Warn("generator cache: read failed", "key", key, "err", err)
		}
	case c.cfg.CacheDir != "":
		raw, err = readFileMax(c.cachePath(key), c.cfg.MaxResponseBytes)
	default:
		return nil, false
	}
	if err == nil && int64(len(raw)) > c.cfg.MaxResponseBytes {
		err = &ResponseTooLargeError{Limit: c.cfg.MaxResponseBytes, Size: int64(len(raw))}
	}
	if err != nil {
		var tooLarge *ResponseTooLargeError
		if errors.As(err, &tooLarge) {
			c.cfg.Log.Warn("generator cache: ignoring an entry over the response limit", "key", key, "err", err)
		}
		return nil, false
	}
	var resp ChatResponse
	if err := json.Unmarshal(raw, &resp); err != nil || len(resp.Choices) == 0 {
		c.cfg.Log.Warn("generator cache: ignoring unreadable entry", "key", key, "err", err)
		return nil, false
	}
	return &resp, true
}

// readFileMax reads a file of at most limit bytes (a larger one is a *ResponseTooLargeError,
// read no further).
func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, &ResponseTooLargeError{Limit: limit, Size: -1}
	}
	return raw, nil
}

// cachePut stores a response atomically (temporary file, then rename; one whole-object PUT
// on S3), so a crash never leaves a half-written entry.
func (c *Client) cachePut(ctx context.Context, key string, raw []byte) {
	if c.store != nil {
		if err := c.store.Put(ctx, cacheKey(key), raw); err != nil {
			c.cfg.Log.Warn("generator cache: write failed", "key", key, "err", err)
		}
		return
	}
	if c.cfg.CacheDir == "" {
		return
	}
	p := c.cachePath(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.cfg.Log.Warn("generator cache", "err", err)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		c.cfg.Log.Warn("generator cache", "err", err)
		return
	}
	_, werr := tmp.Write(raw)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		c.cfg.Log.Warn("generator cache: write failed", "err", errors.Join(werr, cerr))
		return
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		c.cfg.Log.Warn("generator cache", "err", err)
	}
}
