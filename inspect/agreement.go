package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// agreementFile is the agreement report an extraction of publisher article packages writes
// beside figures.jsonl (package articles): how the PDF-only extraction did against the XML.
const agreementFile = "agreement.json"

// Agreement is an extraction's agreement report (agreement.json): wherever an article's XML
// and PDF were both read, the PDF-only extraction scored against the XML's figures, overall
// and per journal. Its fields are those of the file.
type Agreement struct {
	// Source is the input the report came from (set by the report builder).
	Source string `json:"source"`
	// Metric says when a PDF-only caption counts as the XML's.
	Metric string `json:"metric"`
	// Total sums every article.
	Total AgreementScore `json:"total"`
	// Journals are the scores per journal.
	Journals []JournalAgreement `json:"journals"`
	// Documents are the articles scored.
	Documents []DocumentAgreement `json:"documents"`
}

// AgreementScore is recall (matched / XML figures) and precision (matched / PDF figures)
// over a set of articles.
type AgreementScore struct {
	Articles   int     `json:"articles"`
	XMLFigures int     `json:"xml_figures"`
	PDFFigures int     `json:"pdf_figures"`
	Matched    int     `json:"matched"`
	Recall     float64 `json:"recall"`
	Precision  float64 `json:"precision"`
}

// JournalAgreement is the score of one journal's articles.
type JournalAgreement struct {
	Journal string `json:"journal"`
	AgreementScore
}

// DocumentAgreement is how the PDF-only extraction of one article did against its XML.
type DocumentAgreement struct {
	URI        string   `json:"uri"`
	DOI        string   `json:"doi,omitempty"`
	Journal    string   `json:"journal"`
	XMLFigures int      `json:"xml_figures"`
	PDFFigures int      `json:"pdf_figures"`
	Matched    int      `json:"matched"`
	Missed     []string `json:"missed,omitempty"`
	Spurious   []string `json:"spurious,omitempty"`
}

// readAgreement reads dir/agreement.json; nil without error when the file does not exist.
func readAgreement(dir string) (*Agreement, error) {
	p := filepath.Join(dir, agreementFile)
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
