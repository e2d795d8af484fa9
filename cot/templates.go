package cot

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var builtinTemplates embed.FS

// TemplateNames are the files a template set holds: system.tmpl, one per task (mcq,
// description, reasoning, conversation), judge.tmpl and solve.tmpl.
var TemplateNames = []string{"system", "mcq", "description", "reasoning", "conversation", "judge", "solve"}

// Templates renders the prompts.
type Templates struct {
	t   map[string]*template.Template
	src map[string]string
}

// LoadTemplates returns the built-in templates, with any file of the same name in dir (when
// dir is not empty) replacing its built-in twin. `eosin cot --dump-templates DIR` writes the
// built-ins out for editing.
func LoadTemplates(dir string) (*Templates, error) {
	src := map[string]string{}
	for _, name := range TemplateNames {
		b, err := builtinTemplates.ReadFile("templates/" + name + ".tmpl")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		if dir != "" {
			if e, err := os.ReadFile(filepath.Join(dir, name+".tmpl")); err == nil {
				b = e
			} else if !os.IsNotExist(err) {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
		}
		src[name] = string(b)
	}
	return ParseTemplates(src)
}

// ParseTemplates returns the templates whose sources src holds (name → text); names missing
// from src take the built-in. Templates travel to remote workers as sources.
func ParseTemplates(src map[string]string) (*Templates, error) {
	ts := &Templates{t: map[string]*template.Template{}, src: map[string]string{}}
	for _, name := range TemplateNames {
		text, ok := src[name]
		if !ok {
			b, err := builtinTemplates.ReadFile("templates/" + name + ".tmpl")
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			text = string(b)
		}
		t, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		ts.t[name], ts.src[name] = t, text
	}
	return ts, nil
}

// Sources returns the template texts by name (for ParseTemplates on another machine).
func (ts *Templates) Sources() map[string]string {
	out := make(map[string]string, len(ts.src))
	for k, v := range ts.src {
		out[k] = v
	}
	return out
}

// DumpTemplates writes the built-in templates into dir.
func DumpTemplates(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(builtinTemplates, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builtinTemplates.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
	})
}

// PromptData is what the task templates see.
type PromptData struct {
	Label       string
	Caption     string
	Mentions    []string
	Task        string
	Length      string // short | medium | long
	LengthWords string // e.g. "40 to 120"
	Options     int    // number of options (mcq)
	LastLetter  string // letter of the last option
	Turns       int    // conversation turns
	// judge and solve templates
	Question    string
	OptionsText string
	Answer      string
}

// Render executes template name with data.
func (ts *Templates) Render(name string, data PromptData) (string, error) {
	t, ok := ts.t[name]
	if !ok {
		return "", fmt.Errorf("no template %q", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()), nil
}
