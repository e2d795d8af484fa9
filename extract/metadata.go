package extract

import (
	"encoding/xml"
	"regexp"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Metadata is the document information from the Info dictionary and XMP metadata.
type Metadata struct {
	Title    string `json:"title,omitempty"`
	Author   string `json:"author,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Keywords string `json:"keywords,omitempty"`
	DOI      string `json:"doi,omitempty"`
	Producer string `json:"producer,omitempty"`
	Creator  string `json:"creator,omitempty"`
	Pages    int    `json:"pages"`
}

var doiRE = regexp.MustCompile(`\b10\.\d{4,9}/[^\s"<>]+[^\s"<>.,;]`)

// Metadata reads Info and XMP; XMP wins where both have a value. A DOI is taken from an XMP
// identifier or from any Info/XMP text that contains one.
func (d *Document) Metadata() Metadata {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := Metadata{Pages: d.NumPages()}
	defer func() { _ = recover() }()
	if d.pdf.Info != nil {
		info := d.dict(*d.pdf.Info)
		get := func(k string) string {
			o := d.deref(info[k])
			if o == nil {
				return ""
			}
			s, err := model.Text(o)
			if err != nil {
				return ""
			}
			return strings.TrimSpace(s)
		}
		m.Title, m.Author, m.Subject = get("Title"), get("Author"), get("Subject")
		m.Keywords, m.Producer, m.Creator = get("Keywords"), get("Producer"), get("Creator")
		if doi, ok := info["doi"]; ok {
			if s, err := model.Text(d.deref(doi)); err == nil {
				m.DOI = s
			}
		}
	}
	if d.pdf.RootDict != nil {
		if ref := d.pdf.RootDict["Metadata"]; ref != nil {
			if data, _, err := d.streamData(ref); err == nil {
				x := parseXMP(data)
				if x.title != "" {
					m.Title = x.title
				}
				if x.author != "" {
					m.Author = x.author
				}
				if x.producer != "" && m.Producer == "" {
					m.Producer = x.producer
				}
				if x.doi != "" {
					m.DOI = x.doi
				}
			}
		}
	}
	if m.DOI == "" {
		for _, s := range []string{m.Subject, m.Keywords, m.Title} {
			if doi := doiRE.FindString(s); doi != "" {
				m.DOI = doi
				break
			}
		}
	}
	m.DOI = strings.TrimPrefix(strings.TrimPrefix(m.DOI, "doi:"), "https://doi.org/")
	return m
}

type xmpInfo struct{ title, author, producer, doi string }

// parseXMP walks the XMP packet and picks dc:title, dc:creator, pdf:Producer and a DOI
// (prism:doi, dc:identifier or any text holding one).
func parseXMP(data []byte) xmpInfo {
	var x xmpInfo
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	dec.Strict = false
	var path []string
	var authors []string
	for n := 0; n < 100000; n++ {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "Producer":
					x.producer = a.Value
				case "doi":
					x.doi = a.Value
				}
			}
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case xml.CharData:
			s := strings.TrimSpace(string(t))
			if s == "" || len(path) == 0 {
				continue
			}
			in := func(name string) bool {
				for _, p := range path {
					if p == name {
						return true
					}
				}
				return false
			}
			switch {
			case in("title") && x.title == "":
				x.title = s
			case in("creator"):
				authors = append(authors, s)
			case path[len(path)-1] == "Producer":
				x.producer = s
			case path[len(path)-1] == "doi":
				x.doi = s
			case in("identifier") && x.doi == "":
				if doi := doiRE.FindString(s); doi != "" {
					x.doi = doi
				}
			}
		}
	}
	x.author = strings.Join(authors, "; ")
	return x
}
