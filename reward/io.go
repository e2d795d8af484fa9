package reward

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// inputAliases maps accepted JSON keys to Input fields, so completion files written by other
// tools (EasyR1's response/ground_truth, TRL's completion/solution) score unchanged.
var inputAliases = map[string][]string{
	"completion":      {"completion", "response", "output"},
	"reference":       {"reference", "ground_truth", "solution", "answer"},
	"task":            {"task"},
	"options":         {"options"},
	"prompt":          {"prompt", "problem"},
	"response_length": {"response_length", "length"},
}

// DecodeInput reads an Input from a JSON object, accepting the key aliases completion |
// response | output, reference | ground_truth | solution | answer, prompt | problem and
// response_length | length.
func DecodeInput(obj map[string]json.RawMessage) (Input, error) {
	var in Input
	pick := func(field string, dst any) error {
		for _, k := range inputAliases[field] {
			if raw, ok := obj[k]; ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, dst); err != nil {
					return fmt.Errorf("field %q: %w", k, err)
				}
				return nil
			}
		}
		return nil
	}
	for _, f := range []struct {
		name string
		dst  any
	}{{"completion", &in.Completion}, {"reference", &in.Reference}, {"task", &in.Task},
		{"options", &in.Options}, {"prompt", &in.Prompt}, {"response_length", &in.Length}} {
		if err := pick(f.name, f.dst); err != nil {
			return in, err
		}
	}
	if _, ok := firstKey(obj, inputAliases["completion"]); !ok {
		return in, fmt.Errorf("no completion (one of %s)", strings.Join(inputAliases["completion"], ", "))
	}
	return in, nil
}

func firstKey(obj map[string]json.RawMessage, keys []string) (string, bool) {
	for _, k := range keys {
		if _, ok := obj[k]; ok {
			return k, true
		}
	}
	return "", false
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// Stats summarises a scoring run.
type Stats struct {
	N    int                `json:"n"`
	Mean float64            `json:"mean"`
	Comp map[string]float64 `json:"component_means"`
	// Rejected counts the lines that could not be scored (ScoreJSONLRejects).
	Rejected int `json:"rejected,omitempty"`
}

// ScoreJSONL reads one JSON object per line from r, scores it with s and writes the object
// back to w with a "reward" key ({overall, components}) added. Blank lines are skipped; a
// malformed line is an error naming its line number.
func ScoreJSONL(ctx context.Context, r io.Reader, w io.Writer, s Scorer) (Stats, error) {
	return ScoreJSONLRejects(ctx, r, w, nil, s)
}

// LineReject is a line ScoreJSONLRejects could not score: its number, why, and the line.
type LineReject struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
	Input string `json:"input"`
}

// ScoreJSONLRejects is ScoreJSONL that, with rejects set, writes each line it cannot score
// (not JSON, no completion, …) to rejects as a LineReject and goes on; Stats.Rejected counts
// them. A nil rejects makes such a line an error, as in ScoreJSONL.
func ScoreJSONLRejects(ctx context.Context, r io.Reader, w, rejects io.Writer, s Scorer) (Stats, error) {
	st := Stats{Comp: map[string]float64{}}
	var rw *bufio.Writer
	if rejects != nil {
		rw = bufio.NewWriter(rejects)
	}
	// reject records the line's error in rejects and reports whether the run goes on.
	reject := func(line int, b []byte, err error) bool {
		if rw == nil {
			return false
		}
		st.Rejected++
		raw, _ := marshalNoEscape(LineReject{Line: line, Error: err.Error(), Input: string(b)})
		rw.Write(raw)
		rw.WriteByte('\n')
		return true
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	bw := bufio.NewWriter(w)
	line := 0
	for sc.Scan() {
		line++
		if line%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			if reject(line, b, err) {
				continue
			}
			return st, fmt.Errorf("line %d: %w", line, err)
		}
		in, err := DecodeInput(obj)
		if err != nil {
			if reject(line, b, err) {
				continue
			}
			return st, fmt.Errorf("line %d: %w", line, err)
		}
		res := s.Score(in)
		raw, err := marshalNoEscape(res)
		if err != nil {
			return st, fmt.Errorf("line %d: %w", line, err)
		}
		// the input object, unchanged, with "reward" appended (replacing an earlier one)
		if _, ok := obj["reward"]; ok {
			delete(obj, "reward")
			if b, err = marshalNoEscape(obj); err != nil {
				return st, fmt.Errorf("line %d: %w", line, err)
			}
		}
		b = bytes.TrimSpace(b)
		bw.Write(b[:len(b)-1])
		if len(obj) > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(`"reward":`)
		bw.Write(raw)
		bw.WriteString("}\n")
		st.N++
		st.Mean += res.Overall
		for k, v := range res.Components {
			st.Comp[k] += v
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("line %d: %w", line+1, err)
	}
	if st.N > 0 {
		st.Mean /= float64(st.N)
		for k := range st.Comp {
			st.Comp[k] /= float64(st.N)
		}
	}
	if rw != nil {
		if err := rw.Flush(); err != nil {
			return st, fmt.Errorf("rejects: %w", err)
		}
	}
	return st, bw.Flush()
}
