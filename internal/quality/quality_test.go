package quality

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const publaynet = "../../../shared/data/publaynet"

// requireData fails on CI and skips elsewhere when shared test data is missing.
func requireData(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing: %v", err)
		}
		t.Skipf("test data missing: %v", err)
	}
}

// publaynetFigures crops the annotated figures (category 5) out of the PubLayNet pages.
func publaynetFigures(t *testing.T) []image.Image {
	t.Helper()
	requireData(t, filepath.Join(publaynet, "samples.json"))
	b, err := os.ReadFile(filepath.Join(publaynet, "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var coco struct {
		Images []struct {
			ID   int    `json:"id"`
			File string `json:"file_name"`
		} `json:"images"`
		Annotations []struct {
			ImageID  int       `json:"image_id"`
			BBox     []float64 `json:"bbox"`
			Category int       `json:"category_id"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &coco); err != nil {
		t.Fatal(err)
	}
	files := map[int]string{}
	for _, im := range coco.Images {
		files[im.ID] = im.File
	}
	var out []image.Image
	for _, a := range coco.Annotations {
		if a.Category != 5 {
			continue
		}
		page := decodeFile(t, filepath.Join(publaynet, files[a.ImageID]))
		r := image.Rect(int(a.BBox[0]), int(a.BBox[1]), int(a.BBox[0]+a.BBox[2]), int(a.BBox[1]+a.BBox[3]))
		if r.Dx() < 64 || r.Dy() < 64 {
			continue // one annotation is a 13-pixel strip, below any size filter
		}
		out = append(out, crop(page, r))
	}
	if len(out) < 5 {
		t.Fatalf("only %d PubLayNet figures", len(out))
	}
	return out
}

func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func crop(img image.Image, r image.Rectangle) image.Image {
	dst := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(dst, dst.Bounds(), img, r.Min, draw.Src)
	return dst
}

// halfSizeJPEG scales an image to half size (2×2 averaging) and re-encodes it as JPEG q=60.
func halfSizeJPEG(t *testing.T, img image.Image) image.Image {
	t.Helper()
	b := img.Bounds()
	dst := image.NewGray(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	g := NewGrey(img)
	for y := 0; y < dst.Rect.Dy(); y++ {
		for x := 0; x < dst.Rect.Dx(); x++ {
			s := int(g.Pix[2*y*g.W+2*x]) + int(g.Pix[2*y*g.W+2*x+1]) + int(g.Pix[(2*y+1)*g.W+2*x]) + int(g.Pix[(2*y+1)*g.W+2*x+1])
			dst.SetGray(x, y, color.Gray{uint8(s / 4)})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPHashRealFigures(t *testing.T) {
	figs := publaynetFigures(t)
	hashes := make([]uint64, len(figs))
	for i, f := range figs {
		hashes[i] = PHash(f)
		// A rescaled, recompressed copy stays within the default threshold.
		if d := Hamming(hashes[i], PHash(halfSizeJPEG(t, f))); d > DefaultOptions().MaxHamming {
			t.Errorf("figure %d: half-size JPEG copy is %d bits away", i, d)
		}
	}
	for i := range hashes {
		for j := i + 1; j < len(hashes); j++ {
			if d := Hamming(hashes[i], hashes[j]); d <= DefaultOptions().MaxHamming {
				t.Errorf("different figures %d and %d only %d bits apart", i, j, d)
			}
		}
	}
	// Inverting the image flips (almost) every AC bit.
	inv := NewGrey(figs[0])
	for i := range inv.Pix {
		inv.Pix[i] = 255 - inv.Pix[i]
	}
	if d := Hamming(hashes[0], inv.PHash()); d < 50 {
		t.Errorf("inverted figure only %d bits away", d)
	}
}

func TestHashFormat(t *testing.T) {
	for _, h := range []uint64{0, 1, 0xdeadbeefcafef00d, ^uint64(0)} {
		s := FormatHash(h)
		got, err := ParseHash(s)
		if err != nil || got != h || len(s) != 16 {
			t.Errorf("%x → %q → %x, %v", h, s, got, err)
		}
	}
	for _, bad := range []string{"", "123", "zzzzzzzzzzzzzzzz", "0123456789abcdef0"} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("00000000000000ff")
	f.Add("xyz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err == nil && !strings.EqualFold(FormatHash(h), s) {
			t.Fatalf("%q parsed to %x", s, h)
		}
	})
}

func TestUniformity(t *testing.T) {
	figs := publaynetFigures(t)
	blank := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range blank.Pix {
		blank.Pix[i] = 250
	}
	// A white page area with light scanner noise (±10 luma) is still blank.
	noisy := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range noisy.Pix {
		noisy.Pix[i] = uint8(240 + (i*7919)%21 - 10)
	}
	// Sparse line art: a frame and one diagonal on white.
	lines := image.NewGray(image.Rect(0, 0, 400, 300))
	for i := range lines.Pix {
		lines.Pix[i] = 255
	}
	for x := 0; x < 400; x++ {
		lines.SetGray(x, 0, color.Gray{0})
		lines.SetGray(x, 299, color.Gray{0})
		lines.SetGray(x, x*299/399, color.Gray{0})
	}
	for y := 0; y < 300; y++ {
		lines.SetGray(0, y, color.Gray{0})
		lines.SetGray(399, y, color.Gray{0})
	}
	p := DefaultParams()
	cases := []struct {
		name  string
		img   image.Image
		blank bool
	}{
		{"flat", blank, true},
		{"noisy white", noisy, true},
		{"line art", lines, false},
		{"publaynet figure 0", figs[0], false},
		{"publaynet figure 1", figs[1], false},
	}
	for _, c := range cases {
		u := NewGrey(c.img).Uniformity()
		if got := u.Ink < p.MinInk; got != c.blank {
			t.Errorf("%s: ink %.4f, blank=%v, want %v", c.name, u.Ink, got, c.blank)
		}
	}
}

func TestDetectLanguage(t *testing.T) {
	cases := []struct {
		text string
		want string
	}{
		// Captions of the Debian test corpus (English).
		{"Figure 1: MA plot of the comparison between the two conditions. The red dots are genes with a significant difference.", "en"},
		{"Figure 2.1: Kaplan-Meier curves for the two treatment groups, with the number at risk shown below the plot.", "en"},
		{"Figure 3: Dispersion plot", Undetermined},
		{"", Undetermined},
		{"12.5% 43,456.78", Undetermined},
		// German, French, Spanish, Italian, Portuguese, Dutch captions.
		{"Abbildung 2: Die Verteilung der Werte für die Proben aus der Kontrollgruppe und der behandelten Gruppe.", "de"},
		{"Figure 4 : Distribution des valeurs pour les échantillons du groupe témoin et du groupe traité, avec la médiane.", "fr"},
		{"Figura 1: Distribución de los valores para las muestras del grupo de control y del grupo tratado.", "es"},
		{"Figura 3: Distribuzione dei valori per i campioni del gruppo di controllo e della terapia, con la mediana.", "it"},
		{"Figura 2: Distribuição dos valores para as amostras do grupo de controle e do grupo tratado, com a mediana.", "pt"},
		{"Figuur 5: De verdeling van de waarden voor de monsters van de controlegroep en de behandelde groep.", "nl"},
		// Non-Latin scripts.
		{"Рисунок 1: Распределение значений в контрольной группе", "ru"},
		{"图 1：对照组与治疗组的数值分布", "zh"},
		{"図1：対照群と治療群の値の分布を示す", "ja"},
		{"Εικόνα 1: Κατανομή των τιμών στην ομάδα ελέγχου", "el"},
		// Greek letters inside English text do not make it Greek.
		{"Figure 5: The estimated α and β for each of the genes, shown on the log scale with the fitted curve.", "en"},
	}
	for _, c := range cases {
		if got := DetectLanguage(c.text); got.Code != c.want {
			t.Errorf("%q: got %s (%.2f), want %s", c.text, got.Code, got.Confidence, c.want)
		}
	}
}

// TestDetectLanguageEurotext runs the detector over the German sentence of Tesseract's
// multilingual test page (real text; the other pangrams there carry too few function words to
// decide and must come out Undetermined rather than wrong).
func TestDetectLanguageEurotext(t *testing.T) {
	path := "../../../shared/data/tesseract-testing/eurotext.txt"
	requireData(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(b)), " ")
	sentences := map[string]string{
		"Der „schnelle” braune Fuchs springt über den faulen Hund.":                                                                               "de",
		"The (quick) [brown] {fox} jumps! Over the $43,456.78 <lazy> #90 dog & duck/goose, as 12.5% of E-mail from aspammer@website.com is spam.": "en",
	}
	for s, want := range sentences {
		if !strings.Contains(text, s) {
			t.Fatalf("eurotext.txt lacks %q", s)
		}
		if got := DetectLanguage(s); got.Code != want {
			t.Errorf("%q: got %s, want %s", s, got.Code, want)
		}
	}
	for _, s := range []string{"Le renard brun «rapide» saute par-dessus le chien paresseux.", "La volpe marrone rapida salta sopra il cane pigro.", "A raposa marrom rápida salta sobre o cão preguiçoso."} {
		if !strings.Contains(text, s) {
			t.Fatalf("eurotext.txt lacks %q", s)
		}
		if got := DetectLanguage(s); got.Code != Undetermined && got.Code == "en" {
			t.Errorf("%q: detected as English", s)
		}
	}
}

func TestCheck(t *testing.T) {
	figs := publaynetFigures(t)
	g := NewGrey(figs[0])
	blank := &Grey{W: 200, H: 200, Pix: bytes.Repeat([]byte{255}, 200*200)}
	en := "Figure 1: MA plot of the comparison between the two conditions, with significant genes in red."
	de := "Abbildung 1: Die Verteilung der Werte für die Proben aus der Kontrollgruppe und der behandelten Gruppe."
	p := DefaultParams()
	withTables := p
	withTables.IncludeTables = true
	anyLang := p
	anyLang.Languages = nil
	cases := []struct {
		name string
		p    Params
		c    Candidate
		want string // "" = kept
	}{
		{"good figure", p, Candidate{Width: g.W, Height: g.H, Caption: en, Grey: g}, ""},
		{"table excluded", p, Candidate{Kind: "table", Width: g.W, Height: g.H, Caption: en, Grey: g}, ReasonTable},
		{"table included", withTables, Candidate{Kind: "table", Width: g.W, Height: g.H, Caption: en, Grey: g}, ""},
		{"too small", p, Candidate{Width: 40, Height: 300, Caption: en, Grey: g}, ReasonTooSmall},
		{"too wide", p, Candidate{Width: 1200, Height: 100, Caption: en, Grey: g}, ReasonAspect},
		{"too tall", p, Candidate{Width: 100, Height: 900, Caption: en, Grey: g}, ReasonAspect},
		{"undecodable", p, Candidate{Width: 300, Height: 300, Caption: en}, ReasonUndecodable},
		{"blank", p, Candidate{Width: 200, Height: 200, Caption: en, Grey: blank}, ReasonBlank},
		{"short caption", p, Candidate{Width: g.W, Height: g.H, Caption: "Figure 2:   a b", Grey: g}, ReasonCaptionShort},
		{"long caption", p, Candidate{Width: g.W, Height: g.H, Caption: strings.Repeat("word ", 1000), Grey: g}, ReasonCaptionLong},
		{"german caption", p, Candidate{Width: g.W, Height: g.H, Caption: de, Grey: g}, ReasonCaptionLanguage},
		{"german accepted when any language", anyLang, Candidate{Width: g.W, Height: g.H, Caption: de, Grey: g}, ""},
		{"undetermined caption kept", p, Candidate{Width: g.W, Height: g.H, Caption: "Figure 7: Dispersion estimates", Grey: g}, ""},
	}
	for _, c := range cases {
		r, ok := c.p.Check(c.c)
		if ok != (c.want == "") || r.Reason != c.want {
			t.Errorf("%s: got ok=%v %q (%s), want %q", c.name, ok, r.Reason, r.Detail, c.want)
		}
		if !ok && r.Detail == "" {
			t.Errorf("%s: rejection without detail", c.name)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultParams()
	bad := []func(*Params){
		func(p *Params) { p.MinWidth = -1 },
		func(p *Params) { p.MinAspect, p.MaxAspect = 3, 2 },
		func(p *Params) { p.MinCaptionChars, p.MaxCaptionChars = 50, 10 },
		func(p *Params) { p.MinInk = 1 },
		func(p *Params) { p.MinLanguageConfidence = 2 },
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		if p.Validate() == nil {
			t.Errorf("case %d: accepted %+v", i, p)
		}
	}
}

func TestDedup(t *testing.T) {
	item := func(id, sha string, h uint64, caption string) Item {
		return Item{ID: id, ImageSHA256: sha, PHash: h, HasPHash: true, Caption: caption}
	}
	cases := []struct {
		name  string
		opt   Options
		items []Item
		keep  []string
		drops []Drop
	}{
		{"distinct", DefaultOptions(), []Item{
			item("a", "s1", 0x0, "first caption"), item("b", "s2", 0xffff_ffff_0000_0000, "second caption"),
		}, []string{"a", "b"}, nil},
		{"exact keeps the longer caption", DefaultOptions(), []Item{
			item("a", "s1", 0x0, "short"), item("b", "s1", 0xffff_ffff_0000_0000, "a much longer caption"),
		}, []string{"b"}, []Drop{{ID: "a", DupOf: "b", Reason: ReasonDuplicate}}},
		{"exact tie keeps the smaller id", DefaultOptions(), []Item{
			item("z", "s1", 0x0, "same"), item("m", "s1", 0x0, "same"),
		}, []string{"m"}, []Drop{{ID: "z", DupOf: "m", Reason: ReasonDuplicate}}},
		{"near within threshold", DefaultOptions(), []Item{
			item("a", "s1", 0b111111, "caption a is long"), item("b", "s2", 0, "b"),
		}, []string{"a"}, []Drop{{ID: "b", DupOf: "a", Reason: ReasonNearDuplicate, Distance: 6}}},
		{"near beyond threshold", DefaultOptions(), []Item{
			item("a", "s1", 0b1111111, "caption a is long"), item("b", "s2", 0, "b"),
		}, []string{"a", "b"}, nil},
		{"threshold 0 is exact hash match", Options{MaxHamming: 0}, []Item{
			item("a", "s1", 42, "aa"), item("b", "s2", 42, "a"), item("c", "s3", 43, "a"),
		}, []string{"a", "c"}, []Drop{{ID: "b", DupOf: "a", Reason: ReasonNearDuplicate}}},
		{"near disabled", Options{MaxHamming: -1}, []Item{
			item("a", "s1", 42, "aa"), item("b", "s2", 42, "a"),
		}, []string{"a", "b"}, nil},
		{"no phash: exact only", DefaultOptions(), []Item{
			{ID: "a", ImageSHA256: "s1", Caption: "x"}, {ID: "b", ImageSHA256: "s2", Caption: "y"},
		}, []string{"a", "b"}, nil},
		{"committed wins over a longer caption", DefaultOptions(), []Item{
			{ID: "old", ImageSHA256: "s1", PHash: 7, HasPHash: true, Caption: "x", Committed: true},
			item("new", "s1", 7, "a far longer caption than the old one"),
			item("near", "s9", 6, "another much longer caption"),
		}, []string{"old"}, []Drop{
			{ID: "near", DupOf: "old", Reason: ReasonNearDuplicate, Distance: 1},
			{ID: "new", DupOf: "old", Reason: ReasonDuplicate},
		}},
		{"same id twice counts once", DefaultOptions(), []Item{
			item("a", "s1", 1, "x"), item("a", "s1", 1, "x"),
		}, []string{"a"}, nil},
		{"band index finds a 12-bit neighbour", Options{MaxHamming: 12}, []Item{
			item("a", "s1", 0, "longest caption here"), item("b", "s2", 0x8000_4000_2000_1fff>>0&^0x1ff0, "b"),
		}, []string{"a"}, []Drop{{ID: "b", DupOf: "a", Reason: ReasonNearDuplicate, Distance: Hamming(0, 0x8000_4000_2000_1fff&^0x1ff0)}}},
	}
	for _, c := range cases {
		// Every input order gives the same result.
		for _, items := range [][]Item{c.items, reversed(c.items)} {
			r := Dedup(items, c.opt)
			if !equalStrings(r.Keep, c.keep) {
				t.Errorf("%s: keep %v, want %v", c.name, r.Keep, c.keep)
			}
			if len(r.Drops) != len(c.drops) {
				t.Errorf("%s: drops %+v, want %+v", c.name, r.Drops, c.drops)
				continue
			}
			for i := range c.drops {
				if r.Drops[i] != c.drops[i] {
					t.Errorf("%s: drop %+v, want %+v", c.name, r.Drops[i], c.drops[i])
				}
			}
		}
	}
}

// TestDedupBruteForce compares the band index with an all-pairs search on pseudo-random hashes.
func TestDedupBruteForce(t *testing.T) {
	var items []Item
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := 0; i < 400; i++ {
		h := next()
		if i%3 == 1 {
			h = items[i-1].PHash ^ (next() & next() & next()) // a few bits from the previous
		}
		items = append(items, Item{ID: string(rune('A'+i%26)) + FormatHash(uint64(i)), ImageSHA256: FormatHash(next()), PHash: h, HasPHash: true, Caption: strings.Repeat("x", int(next()%50))})
	}
	for _, radius := range []int{0, 3, 6, 10} {
		r := Dedup(items, Options{MaxHamming: radius})
		kept := map[string]Item{}
		for _, it := range items {
			kept[it.ID] = it
		}
		keep := map[string]bool{}
		for _, id := range r.Keep {
			keep[id] = true
		}
		// Property: no two kept items within the radius; every dropped one has a kept one within it.
		var ks []Item
		for _, it := range items {
			if keep[it.ID] {
				ks = append(ks, it)
			}
		}
		for i := range ks {
			for j := i + 1; j < len(ks); j++ {
				if Hamming(ks[i].PHash, ks[j].PHash) <= radius {
					t.Fatalf("radius %d: kept %s and %s are %d apart", radius, ks[i].ID, ks[j].ID, Hamming(ks[i].PHash, ks[j].PHash))
				}
			}
		}
		for _, d := range r.Drops {
			if !keep[d.DupOf] || Hamming(kept[d.ID].PHash, kept[d.DupOf].PHash) > radius {
				t.Fatalf("radius %d: bad drop %+v", radius, d)
			}
		}
		if len(r.Keep)+len(r.Drops) != len(items) {
			t.Fatalf("radius %d: %d kept + %d dropped != %d", radius, len(r.Keep), len(r.Drops), len(items))
		}
	}
}

func TestNearDuplicateCaptions(t *testing.T) {
	items := []Item{
		{ID: "a", Caption: "Figure 1: MA plot of the comparison between the two conditions, with significant genes in red."},
		{ID: "b", Caption: "Figure 7. MA plot of the comparison between the two conditions, with significant genes in red"},
		{ID: "c", Caption: "Figure 2: Dispersion estimates for each gene plotted against the mean of normalised counts."},
		{ID: "d", Caption: "FIGURE 12-4 ma plot of the comparison between the two conditions with significant genes in red"},
		{ID: "e", Caption: "Figure 3:"},
		{ID: "f", Caption: "Figure 4:"},
	}
	got := NearDuplicateCaptions(items, 0.9)
	want := [][]string{{"a", "b", "d"}}
	if len(got) != len(want) || !equalStrings(got[0], want[0]) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	r := Dedup(items, DefaultOptions())
	if len(r.CaptionGroups) != 1 || !equalStrings(r.CaptionGroups[0], want[0]) {
		t.Fatalf("Dedup caption groups %v", r.CaptionGroups)
	}
}

func TestNormalizeCaption(t *testing.T) {
	cases := map[string]string{
		"Figure 3.2: The MA-plot.":    "the ma plot",
		"Fig. 4 (A) left; (B) right":  "a left b right",
		"FIGURE 12-4 Histology":       "histology",
		"Plate 7. Stained section":    "stained section",
		"  Kaplan–Meier curves  ":     "kaplan meier curves",
		"Abbildung 2: Die Verteilung": "die verteilung",
	}
	for in, want := range cases {
		if got := NormalizeCaption(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func reversed(s []Item) []Item {
	out := make([]Item, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
