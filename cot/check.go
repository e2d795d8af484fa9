package cot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// CheckBaseURL reports whether raw can be a generator's API root: an http or https URL with
// a host, such as http://localhost:8000/v1. "localhost:8000" (no scheme) is the usual mistake.
func CheckBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == "" {
		return nil
	}
	hint := "http://localhost:8000/v1"
	if !strings.Contains(raw, "://") && raw != "" {
		hint = "http://" + strings.TrimLeft(raw, "/")
	}
	return fmt.Errorf("generator %q is not an http(s) URL with a host; give the server's API root with its scheme, e.g. %s", raw, hint)
}

// CheckError is a generator that failed the check before a run: URL is what was asked,
// Problem what went wrong, in words, and Err the underlying error, if any.
type CheckError struct {
	URL     string
	Problem string
	Err     error
}

func (e *CheckError) Error() string {
	s := fmt.Sprintf("generator check: %s: %s", e.URL, e.Problem)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CheckError) Unwrap() error { return e.Err }

// checkAttempts bounds the tries of one check request answered 429 or 5xx.
const checkAttempts = 3

// CheckGenerator asks the server at cfg.BaseURL, with one cheap request, whether it serves
// the chat-completions API and model: GET <base>/models, and when that does not list model
// (or the server has no such endpoint) a chat completion of max_tokens 1. It fails with a
// *CheckError naming the URL and what went wrong: no connection, an HTTP error status,
// missing credentials, an unknown model. A 429 or 5xx reply is tried again a few times
// (cfg's backoff); nothing goes through the response cache and nothing is written.
func CheckGenerator(ctx context.Context, cfg ClientConfig, model string) error {
	cfg.defaults()
	if err := CheckBaseURL(cfg.BaseURL); err != nil {
		return &CheckError{URL: cfg.BaseURL, Problem: "malformed URL", Err: err}
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	key := os.Getenv(cfg.APIKeyEnv)
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	defer hc.CloseIdleConnections()
	do := func(method, u string, body []byte, timeout time.Duration) (status int, raw []byte, err error) {
		for attempt := 0; attempt < checkAttempts; attempt++ {
			if attempt > 0 {
				select {
				case <-ctx.Done():
					return 0, nil, ctx.Err()
				case <-time.After(min(cfg.BackoffBase<<(attempt-1), cfg.BackoffMax)):
				}
			}
			status, raw, err = checkRequest(ctx, hc, method, u, key, body, timeout)
			if err != nil || (status != http.StatusTooManyRequests && status < 500) {
				// no connection (trying again rarely helps, a clear failure does), or an answer
				break
			}
		}
		return status, raw, err
	}
	cerr := func(u, problem string, err error) error { return &CheckError{URL: u, Problem: problem, Err: err} }

	modelsURL := base + "/models"
	status, raw, err := do(http.MethodGet, modelsURL, nil, min(cfg.Timeout, 30*time.Second))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return cerr("GET "+modelsURL, "no connection to the model server (is it running, and is --generator its address?)", err)
	}
	var served []string
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return cerr("GET "+modelsURL, fmt.Sprintf("HTTP %d: the server refuses the credentials (API key from $%s, --api-key-env): %s",
			status, cfg.APIKeyEnv, truncate(strings.TrimSpace(string(raw)), 200)), nil)
	case status/100 == 2:
		served = modelIDs(raw)
		if servesModel(served, model) {
			return nil
		}
	case status == http.StatusTooManyRequests || status >= 500:
		return cerr("GET "+modelsURL, fmt.Sprintf("HTTP %d after %d tries: %s", status, checkAttempts, truncate(strings.TrimSpace(string(raw)), 200)), nil)
	}
	// The listing is missing, unreadable or does not name model: a tiny chat completion
	// decides.
	chatURL := base + "/chat/completions"
	body, err := json.Marshal(ChatRequest{Model: model, MaxTokens: 1,
		Messages: []ChatMessage{{Role: "user", Content: "Reply with OK."}}})
	if err != nil {
		return err
	}
	cstatus, craw, err := do(http.MethodPost, chatURL, body, cfg.Timeout)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return cerr("POST "+chatURL, "no connection to the model server", err)
	}
	if cstatus/100 == 2 {
		return nil
	}
	detail := fmt.Sprintf("HTTP %d: %s", cstatus, truncate(strings.TrimSpace(string(craw)), 200))
	switch {
	case cstatus == http.StatusUnauthorized || cstatus == http.StatusForbidden:
		return cerr("POST "+chatURL, fmt.Sprintf("%s; the server refuses the credentials (API key from $%s, --api-key-env)", detail, cfg.APIKeyEnv), nil)
	case len(served) > 0:
		return cerr("POST "+chatURL, fmt.Sprintf("%s; the server does not answer for model %q (it lists %s): check --model", detail, model, listSome(served, 5)), nil)
	case cstatus == http.StatusNotFound || cstatus == http.StatusMethodNotAllowed:
		return cerr("POST "+chatURL, fmt.Sprintf("%s (GET /models: HTTP %d); is --generator the API root of an OpenAI-compatible server, usually ending in /v1?", detail, status), nil)
	}
	return cerr("POST "+chatURL, detail, nil)
}

// checkRequest sends one check request and returns the status and (a bounded part of) the
// body; err is a failure to get a reply at all.
func checkRequest(ctx context.Context, hc *http.Client, method, u, key string, body []byte, timeout time.Duration) (int, []byte, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the reply: %w", err)
	}
	return resp.StatusCode, raw, nil
}

// modelIDs reads the model ids of a GET /models reply ({"data":[{"id":…}]}); nil when the
// reply is not such a listing.
func modelIDs(raw []byte) []string {
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var ids []string
	for _, m := range list.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// servesModel reports whether a listing names model (Ollama lists "name:latest" for "name").
func servesModel(ids []string, model string) bool {
	return slices.Contains(ids, model) || (!strings.Contains(model, ":") && slices.Contains(ids, model+":latest"))
}

// listSome quotes up to n names, saying how many more there are.
func listSome(names []string, n int) string {
	q := make([]string, 0, n)
	for i, s := range names {
		if i == n {
			return fmt.Sprintf("%s and %d more", strings.Join(q, ", "), len(names)-n)
		}
		q = append(q, fmt.Sprintf("%q", s))
	}
	return strings.Join(q, ", ")
}
