// Package browser drives a headless Chromium over the DevTools protocol, just enough to open a
// page, evaluate scripts in it and take screenshots: the inspect report's tests and benchmarks
// use it to look at the report the way a person would.
package browser

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// Flags are the command-line switches Chromium runs with: headless, sandbox and GPU off,
// and nothing that reaches the network on its own.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-quic", "--disable-default-apps", "--disable-extensions", "--mute-audio",
	"--hide-scrollbars", "--remote-allow-origins=*",
	// file:// pages load their data chunks through <script> elements, which needs no
	// relaxed file access; these keep the run reproducible.
	"--disable-features=Translate,MediaRouter,OptimizationHints",
	"--force-color-profile=srgb",
}

// Find returns the Chromium executable: $CHROMIUM when set, else the first of chromium,
// chromium-browser, google-chrome found on PATH.
func Find() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (run `make deps`, which installs Debian's chromium)")
}

// Browser is a running headless Chromium with one page attached.
type Browser struct {
	cmd     *exec.Cmd
	ws      *websocket.Conn
	session string
	userDir string

	mu      sync.Mutex
	nextID  int
	pending map[int]chan reply
	events  chan event
	done    chan struct{}
	err     error
	stderr  *tail
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type event struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

var devtoolsRe = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// Launch starts Chromium with a fresh profile directory (removed by Close), a width×height
// window, and attaches to a blank page.
func Launch(ctx context.Context, exe string, width, height int) (*Browser, error) {
	userDir, err := os.MkdirTemp("", "eosin-chromium-")
	if err != nil {
		return nil, fmt.Errorf("chromium profile: %w", err)
	}
	args := append(append([]string{}, Flags...),
		"--user-data-dir="+userDir, "--remote-debugging-port=0",
		fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	cmd := exec.Command(exe, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(userDir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(userDir)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	b := &Browser{cmd: cmd, userDir: userDir, pending: map[int]chan reply{}, events: make(chan event, 256),
		done: make(chan struct{}), stderr: &tail{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			b.stderr.add(line)
			if m := devtoolsRe.FindStringSubmatch(line); m != nil && !sent {
				urlc <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var wsURL string
	select {
	case wsURL = <-urlc:
	case <-time.After(30 * time.Second):
		b.kill()
		return nil, fmt.Errorf("chromium did not open its DevTools port in 30 s: %s", b.stderr.String())
	case <-ctx.Done():
		b.kill()
		return nil, ctx.Err()
	}
	ws, err := websocket.Dial(wsURL, "", "http://127.0.0.1/")
	if err != nil {
		b.kill()
		return nil, fmt.Errorf("connect to chromium: %w", err)
	}
	ws.MaxPayloadBytes = 256 << 20
	b.ws = ws
	go b.readLoop()
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &tgt); err != nil {
		b.Close()
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true}, &att); err != nil {
		b.Close()
		return nil, err
	}
	b.session = att.SessionID
	for _, m := range []string{"Page.enable", "Runtime.enable"} {
		if err := b.Call(ctx, m, nil, nil); err != nil {
			b.Close()
			return nil, err
		}
	}
	if err := b.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Browser) readLoop() {
	defer close(b.done)
	for {
		var msg struct {
			ID int `json:"id"`
			reply
			event
		}
		var raw []byte
		if err := websocket.Message.Receive(b.ws, &raw); err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("chromium connection: %w", err)
			for id, c := range b.pending {
				close(c)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		if err := json.Unmarshal(raw, &msg); err != nil {
			continue
		}
		if msg.ID == 0 {
			select {
			case b.events <- msg.event:
			default: // nobody listening: drop
			}
			continue
		}
		b.mu.Lock()
		c := b.pending[msg.ID]
		delete(b.pending, msg.ID)
		b.mu.Unlock()
		if c != nil {
			c <- msg.reply
		}
	}
}

// Call sends a DevTools command to the page and decodes its result into out (when non-nil).
func (b *Browser) Call(ctx context.Context, method string, params any, out any) error {
	return b.call(ctx, b.session, method, params, out)
}

func (b *Browser) call(ctx context.Context, session, method string, params any, out any) error {
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return b.err
	}
	b.nextID++
	id := b.nextID
	c := make(chan reply, 1)
	b.pending[id] = c
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := websocket.Message.Send(b.ws, string(body)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-c:
		if !ok {
			return fmt.Errorf("%s: %w", method, b.err)
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Navigate opens url and waits for its load event.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	for len(b.events) > 0 {
		<-b.events
	}
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.Call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, res.ErrorText)
	}
	for {
		select {
		case ev := <-b.events:
			if ev.Method == "Page.loadEventFired" {
				return nil
			}
		case <-b.done:
			return fmt.Errorf("navigate to %s: %w", url, b.err)
		case <-ctx.Done():
			return fmt.Errorf("navigate to %s: %w", url, ctx.Err())
		}
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a returned promise) and
// decodes its JSON value into out (when non-nil).
func (b *Browser) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := b.Call(ctx, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true}, &res)
	if err != nil {
		return err
	}
	if res.Exception != nil {
		return fmt.Errorf("script failed: %s %s", res.Exception.Text, res.Exception.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// WaitFor evaluates a boolean expression every 50 ms until it is true.
func (b *Browser) WaitFor(ctx context.Context, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		if err := b.Eval(ctx, "!!("+expr+")", &ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %v for %s", timeout, expr)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Screenshot captures the viewport (or the whole page when full is set) as PNG bytes.
func (b *Browser) Screenshot(ctx context.Context, full bool) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	params := map[string]any{"format": "png"}
	if full {
		params["captureBeyondViewport"] = true
		var size struct {
			W float64 `json:"w"`
			H float64 `json:"h"`
		}
		if err := b.Eval(ctx, `({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight})`, &size); err != nil {
			return nil, err
		}
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": size.W, "height": min(size.H, 8000), "scale": 1}
	}
	if err := b.Call(ctx, "Page.captureScreenshot", params, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}

// Close ends Chromium and removes its profile directory.
func (b *Browser) Close() error {
	if b.ws != nil {
		_ = b.call(context.Background(), "", "Browser.close", nil, nil)
		b.ws.Close()
	}
	b.kill()
	return nil
}

func (b *Browser) kill() {
	if b.cmd != nil && b.cmd.Process != nil {
		exited := make(chan struct{})
		go func() { b.cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			b.cmd.Process.Kill()
			<-exited
		}
	}
	os.RemoveAll(b.userDir)
}

// tail keeps the last lines Chromium wrote to stderr, for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > 20 {
		t.lines = t.lines[len(t.lines)-20:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
