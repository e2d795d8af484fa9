package cot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testTimeout is the clients' per-attempt timeout in tests: long enough for a loaded 2-core
// machine (and the race detector), short enough for the "slow" fault to cost little.
const testTimeout = 3 * time.Second

func testClient(t testing.TB, url string, cacheDir string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{BaseURL: url, Concurrency: 8, Timeout: testTimeout, MaxAttempts: 4,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func genRequest(caption string) *ChatRequest {
	return &ChatRequest{Model: "fake", N: 2, Messages: []ChatMessage{{Role: "user", Content: []ContentPart{
		{Type: "image_url", ImageURL: &ImageURL{URL: "data:image/png;base64,AAAA"}},
		{Type: "text", Text: "Figure 1 caption: " + caption + "\nWrite one multiple-choice question. Reply in exactly this structure"}}}}}
}

func TestClientFaults(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	caption := "Photomicrograph of melanoma in the skin, showing atypical melanocytes with prominent nucleoli."
	tests := []struct {
		fault       string
		wantErr     int // HTTP status of the final error, 0: success
		wantRetries int64
		minElapsed  time.Duration
	}{
		{"", 0, 0, 0},
		{"429", 0, 1, 900 * time.Millisecond}, // Retry-After: 1 honoured
		{"500", 0, 2, 0},
		{"slow", 0, 1, testTimeout},
		{"truncated", 0, 1, 0},
		{"drop", 0, 1, 0},
		{"always500", 500, 3, 0},
		{"badreq", 400, 0, 0},
	}
	for _, tc := range tests {
		t.Run("fault="+tc.fault, func(t *testing.T) {
			c := testClient(t, fm.URL(), "")
			cap := caption
			if tc.fault != "" {
				cap += " [fault:" + tc.fault + "]"
			}
			start := time.Now()
			resp, err := c.Complete(context.Background(), genRequest(cap))
			el := time.Since(start)
			st := c.Stats()
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if len(resp.Choices) != 2 {
					t.Fatalf("%d choices", len(resp.Choices))
				}
				if _, perr := Parse(resp.Choices[1].Message.Content, "mcq"); perr != nil {
					t.Fatalf("parse: %v", perr)
				}
			} else {
				var api *APIError
				if !errors.As(err, &api) || api.Status != tc.wantErr {
					t.Fatalf("error %v, want HTTP %d", err, tc.wantErr)
				}
				if st.Failures != 1 {
					t.Errorf("failures %d", st.Failures)
				}
			}
			if st.Retries != tc.wantRetries {
				t.Errorf("retries %d, want %d", st.Retries, tc.wantRetries)
			}
			if el < tc.minElapsed {
				t.Errorf("took %v, want at least %v", el, tc.minElapsed)
			}
		})
	}
}

func TestClientCache(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	dir := t.TempDir()
	c := testClient(t, fm.URL(), dir)
	req := genRequest("Photomicrograph of melanoma in the skin, showing atypical melanocytes with prominent nucleoli.")
	r1, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	before := fm.Requests.Load()
	c2 := testClient(t, fm.URL(), dir) // a new process would see the same directory
	r2, err := c2.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if fm.Requests.Load() != before || c2.Stats().CacheHits != 1 {
		t.Fatalf("second request reached the server (%d → %d), hits %d", before, fm.Requests.Load(), c2.Stats().CacheHits)
	}
	if r1.Choices[0].Message.Content != r2.Choices[0].Message.Content {
		t.Fatal("cached response differs")
	}
	// a corrupt entry is ignored and replaced
	key, _, _ := RequestKey(req)
	p := filepath.Join(dir, key[:2], key+".json")
	if err := os.WriteFile(p, []byte(`{"choices":[{"mess`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if fm.Requests.Load() != before+1 {
		t.Fatal("corrupt cache entry was used")
	}
	// Refresh (cot --refresh) asks the server although the cache holds the response
	before = fm.Requests.Load()
	c4, err := NewClient(ClientConfig{BaseURL: fm.URL(), CacheDir: dir, Refresh: true, Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c4.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if fm.Requests.Load() != before+1 || c4.Stats().CacheHits != 0 {
		t.Fatalf("refresh: server requests %d → %d, cache hits %d", before, fm.Requests.Load(), c4.Stats().CacheHits)
	}
	// the API key travels as a bearer token
	t.Setenv("EOSIN_TEST_KEY", "sekrit")
	c3, _ := NewClient(ClientConfig{BaseURL: fm.URL(), APIKeyEnv: "EOSIN_TEST_KEY"})
	if c3.key != "sekrit" {
		t.Fatalf("key %q", c3.key)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := map[string]time.Duration{
		"":     0,
		"3":    3 * time.Second,
		"0.5":  500 * time.Millisecond,
		"-1":   0,
		"soon": 0,
		time.Now().Add(time.Hour).UTC().Format(http.TimeFormat): time.Hour,
	}
	for in, want := range tests {
		got := parseRetryAfter(in)
		if want == time.Hour {
			if got < 59*time.Minute || got > time.Hour {
				t.Errorf("parseRetryAfter(%q) = %v", in, got)
			}
			continue
		}
		if got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	c := testClient(t, "http://127.0.0.1:1", "")
	for n := 1; n < 30; n++ {
		d := c.backoff(n, errors.New("x"))
		if d < 0 || d > c.cfg.BackoffMax {
			t.Fatalf("backoff(%d) = %v", n, d)
		}
	}
	if d := c.backoff(1, &APIError{Status: 429, RetryAfter: time.Hour}); d != c.cfg.MaxRetryAfter {
		t.Fatalf("Retry-After cap: %v", d)
	}
}

// TestClientResponseLimit: a reply over MaxResponseBytes fails its request at once, with or
// without a Content-Length, is not cached, and becomes a response_too_large reject; replies
// under the limit are unaffected.
func TestClientResponseLimit(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	caption := "Photomicrograph of melanoma in the skin, showing atypical melanocytes with prominent nucleoli."
	tests := []struct {
		fault   string
		limit   int64
		wantErr bool
	}{
		{"huge", 1 << 20, true},
		{"hugelen", 1 << 20, true},
		{"huge", 8 << 20, false},
		{"", 1 << 20, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.fault, tc.limit), func(t *testing.T) {
			cache := t.TempDir()
			c, err := NewClient(ClientConfig{BaseURL: fm.URL(), Timeout: testTimeout, MaxAttempts: 4, BackoffBase: time.Millisecond,
				CacheDir: cache, MaxResponseBytes: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cap := caption
			if tc.fault != "" {
				cap += " [fault:" + tc.fault + "]"
			}
			_, info, err := c.CompleteInfo(context.Background(), genRequest(cap))
			var tooLarge *ResponseTooLargeError
			if got := errors.As(err, &tooLarge); got != tc.wantErr {
				t.Fatalf("err %v, want a ResponseTooLargeError: %v", err, tc.wantErr)
			}
			if !tc.wantErr {
				if cacheEntries(t, cache) != 1 {
					t.Errorf("%d cache entries for a good reply, want 1", cacheEntries(t, cache))
				}
				return
			}
			if info.Attempts != 1 {
				t.Errorf("%d attempts, want 1 (not retried)", info.Attempts)
			}
			if tooLarge.Limit != tc.limit || (tc.fault == "hugelen") != (tooLarge.Size > 0) {
				t.Errorf("error %+v", tooLarge)
			}
			if n := cacheEntries(t, cache); n != 0 {
				t.Errorf("%d cache entries for a reply over the limit", n)
			}
			if r := genReason(err); r != "response_too_large" {
				t.Errorf("reject reason %q", r)
			}
		})
	}
}

// TestClientCacheEntryOverLimit: a cache entry larger than the response limit is ignored (and
// the request asks the server again).
func TestClientCacheEntryOverLimit(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	cache := t.TempDir()
	req := genRequest("Photomicrograph of melanoma in the skin, showing atypical melanocytes with prominent nucleoli.")
	c, err := NewClient(ClientConfig{BaseURL: fm.URL(), Timeout: testTimeout, CacheDir: cache, MaxResponseBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key, _, err := RequestKey(req)
	if err != nil {
		t.Fatal(err)
	}
	p := c.cachePath(key)
	os.MkdirAll(filepath.Dir(p), 0o755)
	big := `{"choices":[{"message":{"content":"` + strings.Repeat("x", 4<<10) + `"}}]}`
	if err := os.WriteFile(p, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.cacheGet(context.Background(), key); ok {
		t.Error("a cache entry over the limit was used")
	}
}
