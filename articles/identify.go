package articles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/eosinlab/eosin/articles/jats"
)

// Identify returns the key a package is deduplicated by before it is processed: the sha256 of
// the PDF the article XML names (or that Process would choose), else the sha256 of the XML.
// It is the Doc.SHA256 that Process gives the package's records when its PDF is readable, so a
// package and the same article's bare PDF share a key. It reads the XML but lays nothing out.
func Identify(pkg *Package, xmlLimits jats.Limits) (string, error) {
	xmlData, err := pkg.XML.Bytes()
	if err != nil {
		return "", fmt.Errorf("package %s: %w", pkg.URI, err)
	}
	art, err := jats.ParseLimits(bytes.NewReader(xmlData), xmlLimits)
	if err != nil {
		return "", fmt.Errorf("package %s: %s: %w", pkg.URI, pkg.XML.Name, err)
	}
	sum := sha256.Sum256(xmlData)
	if pdf := pkg.choosePDF(art.PDF, art.Supplementary); pdf != nil {
		b, err := pdf.Bytes()
		if err != nil {
			return "", fmt.Errorf("package %s: %w", pkg.URI, err)
		}
		sum = sha256.Sum256(b)
	}
	return hex.EncodeToString(sum[:]), nil
}
