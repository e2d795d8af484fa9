package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/articles"
)

// Agreement is an agreement report of publisher article packages, as package articles writes
// it: an extraction's agreement.json, or a dataset build's stats.build.agreement. Wherever an
// article's XML and PDF were both read, the PDF-only extraction scored against the XML's
// figures, overall and per journal.
type Agreement = articles.Report

// readAgreement reads dir/agreement.json; nil without error when the file does not exist.
func readAgreement(dir string) (*Agreement, error) {
	p := filepath.Join(dir, articles.AgreementFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read agreement report: %w", err)
	}
	var a Agreement
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("read agreement report %s: %w", p, err)
	}
	return &a, nil
}
