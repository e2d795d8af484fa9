package inspect

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// OpenSource opens one input of `eosin inspect`: the output directory of `eosin extract`, a
// JSONL file of figure or sample records, or a committed dataset (PREFIX or PREFIX@VERSION,
// local or s3://).
func OpenSource(ctx context.Context, arg string) (Source, error) {
	if !strings.Contains(arg, "://") {
		if st, err := os.Stat(arg); err == nil {
			switch {
			case st.IsDir() && IsExtractDir(arg):
				return OpenDir(arg)
			case st.Mode().IsRegular():
				return OpenFile(arg)
			}
		}
	}
	src, err := OpenDataset(ctx, arg)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: not an extract output directory or records file, and as a dataset: %w", arg, err)
	}
	return src, nil
}
