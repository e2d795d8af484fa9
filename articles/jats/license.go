package jats

import (
	"regexp"
	"strings"
)

// jatsLicense reads <permissions><license> of the article metadata: the address from
// ali:license_ref, the xlink:href attribute or a link in the licence text, else a Creative
// Commons licence named in the text or copyright statement, else the license-type.
func jatsLicense(meta *node) License {
	perm := meta.child("permissions")
	var l License
	lic := perm.child("license")
	if lic != nil {
		l.Type = strings.TrimSpace(lic.attr("license-type"))
		l.Text = shorten(trimmed(lic), maxLicenseText)
	}
	var urls []string
	// ali:license_ref may sit in <permissions> or in <license>.
	for _, p := range []*node{perm, lic} {
		for _, r := range p.children("license_ref") {
			urls = append(urls, trimmed(r))
		}
	}
	for _, lc := range perm.children("license") {
		if h := lc.attr("href"); h != "" {
			urls = append(urls, h)
		}
		lc.walk(func(n *node) bool {
			if h := n.attr("href"); h != "" && n != lc {
				urls = append(urls, h)
			}
			return true
		})
		urls = append(urls, urlRE.FindAllString(plain(lc), -1)...)
	}
	l.URL, l.Name = pickLicenseURL(urls)
	if l.Name == "" {
		l.Name = ccFromText(l.Text)
	}
	if l.Name == "" {
		l.Name = ccFromText(trimmed(perm.child("copyright-statement")))
	}
	if l.Name == "" {
		l.Name = l.Type
	}
	return l
}

// bmcLicense reads BMC's <cpyrt><note> (the first Creative Commons licence address in it; a
// CC0 waiver there covers the data, not the article, unless it is the only one).
func bmcLicense(cpyrt *node) License {
	var l License
	note := cpyrt.child("note")
	if note == nil {
		return l
	}
	l.Text = shorten(trimmed(note), maxLicenseText)
	var urls []string
	for _, u := range note.find("url") {
		urls = append(urls, trimmed(u))
	}
	urls = append(urls, urlRE.FindAllString(l.Text, -1)...)
	l.URL, l.Name = pickLicenseURL(urls)
	if l.Name == "" {
		l.Name = ccFromText(l.Text)
	}
	return l
}

var (
	urlRE = regexp.MustCompile(`https?://[^\s<>()"']+`)
	ccRE  = regexp.MustCompile(`(?i)creativecommons\.org/(licenses|publicdomain)/([a-z-]+)(?:/(\d+(?:\.\d+)?))?`)
)

// pickLicenseURL chooses the licence among addresses: a Creative Commons licence before a
// public-domain tool, either before any other address. It returns the canonical address and
// the short name ("" when no Creative Commons address is among them).
func pickLicenseURL(urls []string) (url, name string) {
	var other, cc0 string
	var cc0Name string
	for _, u := range urls {
		u = strings.TrimRight(strings.TrimSpace(u), ".,;")
		if u == "" {
			continue
		}
		m := ccRE.FindStringSubmatch(u)
		if m == nil {
			if other == "" && strings.Contains(strings.ToLower(u), "licen") {
				other = u
			}
			continue
		}
		kind, ver := strings.ToLower(m[2]), m[3]
		canon := "https://creativecommons.org/" + strings.ToLower(m[1]) + "/" + kind + "/"
		if ver != "" {
			canon += ver + "/"
		}
		if strings.ToLower(m[1]) == "publicdomain" {
			if cc0 == "" {
				cc0 = canon
				switch kind {
				case "zero":
					cc0Name = "CC0"
				case "mark":
					cc0Name = "PDM"
				default:
					cc0Name = "public domain"
				}
				if ver != "" {
					cc0Name += " " + ver
				}
			}
			continue
		}
		name = "CC " + strings.ToUpper(kind)
		if ver != "" {
			name += " " + ver
		}
		return canon, name
	}
	if cc0 != "" {
		return cc0, cc0Name
	}
	return other, ""
}

var versionRE = regexp.MustCompile(`(?i)\b(?:v(?:ersion)?\s*)?([1-4]\.[05])\b`)

// ccFromText names a Creative Commons licence described in words ("Creative Commons
// Attribution-NonCommercial License"), "" when the text names none.
func ccFromText(text string) string {
	t := strings.ToLower(text)
	if !strings.Contains(t, "creative commons") {
		return ""
	}
	compact := strings.NewReplacer("-", "", " ", "").Replace(t)
	name := "CC BY"
	if strings.Contains(compact, "noncommercial") {
		name += "-NC"
	}
	if strings.Contains(compact, "noderiv") {
		name += "-ND"
	}
	if strings.Contains(compact, "sharealike") {
		name += "-SA"
	}
	if !strings.Contains(compact, "attribution") && name == "CC BY" {
		return "Creative Commons"
	}
	if m := versionRE.FindStringSubmatch(text); m != nil {
		name += " " + m[1]
	}
	return name
}
