package articles

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/eosinlab/eosin/articles/jats"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// AgreementThreshold is the caption token F1 from which a PDF-only caption counts as the
// XML's (the metric of the project's biomedical caption set).
const AgreementThreshold = 0.8

// DocAgreement is how the PDF-only extraction of one article did against its XML.
type DocAgreement struct {
	URI     string `json:"uri"`
	DOI     string `json:"doi,omitempty"`
	Journal string `json:"journal"`
	// XMLFigures are the XML's figures, PDFFigures the PDF-only extraction's, Matched the
	// pairs whose captions agree.
	XMLFigures int `json:"xml_figures"`
	PDFFigures int `json:"pdf_figures"`
	Matched    int `json:"matched"`
	// Missed are the labels of XML figures the PDF path did not find; Spurious the labels
	// (with pages) of PDF figures the XML does not have.
	Missed   []string `json:"missed,omitempty"`
	Spurious []string `json:"spurious,omitempty"`
}

// Score is recall and precision over counted figures.
type Score struct {
	Articles   int     `json:"articles"`
	XMLFigures int     `json:"xml_figures"`
	PDFFigures int     `json:"pdf_figures"`
	Matched    int     `json:"matched"`
	Recall     float64 `json:"recall"`
	Precision  float64 `json:"precision"`
}

func (s *Score) add(d DocAgreement) {
	s.Articles++
	s.XMLFigures += d.XMLFigures
	s.PDFFigures += d.PDFFigures
	s.Matched += d.Matched
	s.Recall, s.Precision = 1, 1
	if s.XMLFigures > 0 {
		s.Recall = float64(s.Matched) / float64(s.XMLFigures)
	}
	if s.PDFFigures > 0 {
		s.Precision = float64(s.Matched) / float64(s.PDFFigures)
	}
}

// JournalScore is the Score of one journal's articles.
type JournalScore struct {
	Journal string `json:"journal"`
	Score
}

// Report is the agreement report of a run: wherever an article's XML and PDF were both read,
// the PDF-only extraction scored against the XML's figures (recall = matched / XML figures,
// precision = matched / PDF figures; captions match at token F1 >= AgreementThreshold, one to
// one, best pairs first).
type Report struct {
	Metric    string         `json:"metric"`
	Total     Score          `json:"total"`
	Journals  []JournalScore `json:"journals"`
	Documents []DocAgreement `json:"documents"`
}

// agreementOf scores the PDF-only figures of one article against its XML figures.
func agreementOf(doc shards.Doc, xml []jats.Figure, pdf []layout.Figure) *DocAgreement {
	d := &DocAgreement{URI: doc.URI, DOI: doc.DOI, Journal: doc.Journal, XMLFigures: len(xml), PDFFigures: len(pdf)}
	if d.Journal == "" {
		d.Journal = "(unknown)"
	}
	truth := make([]string, len(xml))
	for i, f := range xml {
		truth[i] = f.Caption
	}
	pred := make([]string, len(pdf))
	for j, f := range pdf {
		pred[j] = f.Caption
	}
	pairs := MatchCaptions(truth, pred, AgreementThreshold)
	d.Matched = len(pairs)
	usedT, usedP := map[int]bool{}, map[int]bool{}
	for _, p := range pairs {
		usedT[p.A], usedP[p.B] = true, true
	}
	for i, f := range xml {
		if !usedT[i] {
			d.Missed = append(d.Missed, f.Label)
		}
	}
	for j, f := range pdf {
		if !usedP[j] {
			d.Spurious = append(d.Spurious, fmt.Sprintf("%s (page %d)", f.Label, f.Page))
		}
	}
	return d
}

// NewReport sums document agreements, overall and per journal (journals sorted by name).
func NewReport(docs []DocAgreement) Report {
	r := Report{
		Metric:    fmt.Sprintf("token F1 >= %.1f of lower-cased alphanumeric caption tokens, one to one, best pairs first", AgreementThreshold),
		Total:     Score{Recall: 1, Precision: 1},
		Documents: docs,
	}
	by := map[string]*Score{}
	for _, d := range docs {
		r.Total.add(d)
		s := by[d.Journal]
		if s == nil {
			s = &Score{}
			by[d.Journal] = s
		}
		s.add(d)
	}
	for j, s := range by {
		r.Journals = append(r.Journals, JournalScore{Journal: j, Score: *s})
	}
	sort.Slice(r.Journals, func(a, b int) bool { return r.Journals[a].Journal < r.Journals[b].Journal })
	if r.Documents == nil {
		r.Documents = []DocAgreement{}
	}
	if r.Journals == nil {
		r.Journals = []JournalScore{}
	}
	return r
}

// WriteReport writes the report as indented JSON.
func WriteReport(path string, r Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("agreement report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("agreement report: %w", err)
	}
	return nil
}
