package cot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckBaseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string // "" for valid, else a part of the error
	}{
		{"http://localhost:8000/v1", ""},
		{"https://api.example.com/v1/", ""},
		{"http://10.0.0.2:11434/v1", ""},
		{"localhost:18000", "e.g. http://localhost:18000"},
		{"localhost:18000/v1", "e.g. http://localhost:18000/v1"},
		{"gpu:8000", "not an http(s) URL"},
		{"ftp://host/v1", "not an http(s) URL"},
		{"http://", "not an http(s) URL"},
		{"/v1", "not an http(s) URL"},
		{"", "not an http(s) URL"},
	} {
		err := CheckBaseURL(tc.raw)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.raw, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one containing %q", tc.raw, err, tc.want)
		}
	}
}

// deadURL is the API root of a port nobody listens on (connection refused).
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// TestCheckGenerator: one cheap request tells a usable generator from a dead or mistyped one,
// and the error names the URL and what went wrong.
func TestCheckGenerator(t *testing.T) {
	good := newFakeModel(testTimeout)
	defer good.Close()
	type handler = func(w http.ResponseWriter, r *http.Request)
	status := func(code int, body string) handler {
		return func(w http.ResponseWriter, r *http.Request) { http.Error(w, body, code) }
	}
	// a server without GET /models whose chat endpoint works (the listing decides nothing)
	chatOnly := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"OK"},"finish_reason":"length"}]}`)
	}
	// a server listing other models, refusing chat for ours (vLLM's answer to a wrong --model)
	otherModel := func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"object":"list","data":[{"id":"Qwen/Qwen2.5-VL-7B-Instruct"}]}`)
			return
		}
		http.Error(w, `{"message":"The model `+"`fake`"+` does not exist."}`, http.StatusNotFound)
	}
	ollama := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"object":"list","data":[{"id":"fake:latest"}]}`)
	}
	for _, tc := range []struct {
		name     string
		h        handler // nil: the good server or a dead port
		dead     bool
		want     []string // parts of the error; none: no error
		requests int64    // requests the server got (−1: not checked)
	}{
		{name: "good", requests: 0},
		{name: "dead port", dead: true, want: []string{"GET http://127.0.0.1:", "/v1/models", "no connection", "connection refused"}, requests: -1},
		{name: "404", h: status(404, "404 page not found"), want: []string{"POST http://127.0.0.1:", "/v1/chat/completions", "HTTP 404",
			"GET /models: HTTP 404", "API root"}, requests: 2},
		{name: "500", h: status(500, "internal error"), want: []string{"GET http://127.0.0.1:", "/v1/models", "HTTP 500 after 3 tries", "internal error"}, requests: 3},
		{name: "401", h: status(401, "invalid api key"), want: []string{"GET http://127.0.0.1:", "HTTP 401", "credentials", "OPENAI_API_KEY"}, requests: 1},
		{name: "chat only", h: chatOnly, requests: 2},
		{name: "other model", h: otherModel, want: []string{"POST http://127.0.0.1:", "HTTP 404", "does not exist", `model "fake"`,
			`"Qwen/Qwen2.5-VL-7B-Instruct"`, "--model"}, requests: 2},
		{name: "ollama name", h: ollama, requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := good.URL()
			var n atomic.Int64
			switch {
			case tc.dead:
				url = deadURL(t)
			case tc.h != nil:
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); tc.h(w, r) }))
				defer srv.Close()
				url = srv.URL + "/v1"
			}
			before := good.Requests.Load()
			err := CheckGenerator(context.Background(), ClientConfig{BaseURL: url, Timeout: testTimeout, BackoffBase: time.Millisecond}, "fake")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
			} else {
				t.Log(err)
				var ce *CheckError
				if !errors.As(err, &ce) {
					t.Fatalf("check: %v, want a *CheckError", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			}
			if tc.h != nil && tc.requests >= 0 && n.Load() != tc.requests {
				t.Errorf("%d requests, want %d", n.Load(), tc.requests)
			}
			if tc.h == nil && !tc.dead && good.Requests.Load() != before {
				t.Errorf("the good server got %d chat requests; the listing answers", good.Requests.Load()-before)
			}
		})
	}
}
