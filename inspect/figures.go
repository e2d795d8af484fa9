package inspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eosinlab/eosin/internal/safefile"
	"github.com/eosinlab/eosin/shards"
)

// figJSON is a figure as the report's scripts read it.
type figJSON struct {
	I  int    `json:"i"`
	ID string `json:"id"`
	// Key links the figure (#figure/<key>) when it is not its ID (no ID, or one used by an
	// earlier figure).
	Key     string     `json:"key,omitempty"`
	Kind    string     `json:"kind,omitempty"`
	Doc     int        `json:"doc"`
	Page    int        `json:"page"`
	PS      [2]float64 `json:"ps"`
	BBox    [4]float64 `json:"bbox"`
	CB      [4]float64 `json:"cb"`
	Label   string     `json:"label,omitempty"`
	Caption string     `json:"caption,omitempty"`
	Sub     []subJSON  `json:"sub,omitempty"`
	Men     []string   `json:"men,omitempty"`
	Img     string     `json:"img,omitempty"`
	IW      int        `json:"iw,omitempty"`
	IH      int        `json:"ih,omitempty"`
	Fmt     string     `json:"fmt,omitempty"`
	Src     string     `json:"src,omitempty"`
	DPI     int        `json:"dpi,omitempty"`
	OCR     bool       `json:"ocr,omitempty"`
	Conf    float64    `json:"conf,omitempty"`
	PHash   string     `json:"phash,omitempty"`
	Flags   []string   `json:"flags,omitempty"`
	PK      string     `json:"pk,omitempty"`
}

type subJSON struct {
	Label   string     `json:"label,omitempty"`
	BBox    [4]float64 `json:"bbox"`
	Caption string     `json:"caption,omitempty"`
}

// maxMentions and maxText bound what a figure carries into the report.
const (
	maxMentions = 5
	maxText     = 4000
)

func (b *builder) addFigure(ctx context.Context, src Source, it FigureItem) error {
	f := it.Figure
	i := b.nfig
	b.nfig++
	if b.nfig%20000 == 0 {
		el := time.Since(b.start)
		b.opts.Logger.Info("inspect: reading figures", "figures", b.nfig, "rate", fmt.Sprintf("%.0f/s", float64(b.nfig)/el.Seconds()))
	}
	d := b.doc(src, f.Doc)
	ds := b.docs[d]
	ds.Figures++
	if !ds.pages[f.Page] {
		ds.pages[f.Page] = true
		ds.Pages++
	}
	b.pageRefs[pageRef{d, f.Page}] = true
	fj := figJSON{
		I: i, ID: f.ID, Kind: f.Kind, Doc: d, Page: f.Page,
		PS:   [2]float64{round2(f.PageSize.Width), round2(f.PageSize.Height)},
		BBox: roundBox(f.BBox), CB: roundBox(f.CaptionBox),
		Label: f.Label, Caption: clip(f.Caption, maxText),
		IW: f.Image.Width, IH: f.Image.Height, Fmt: f.Image.Format, Src: f.Image.Source, DPI: f.Image.DPI,
		OCR: f.OCR.Used, Conf: round2(f.OCR.MeanConfidence), PHash: f.PHash, Flags: f.Quality.Flags,
	}
	if f.Kind != "" {
		b.kinds[f.Kind]++
	} else {
		b.kinds["figure"]++
	}
	if f.Image.Source != "" {
		b.imgSources[f.Image.Source]++
	}
	text := []string{f.ID, f.Label, f.Caption}
	for _, s := range f.SubFigures {
		fj.Sub = append(fj.Sub, subJSON{Label: s.Label, BBox: roundBox(s.BBox), Caption: clip(s.Caption, maxText)})
		text = append(text, s.Label, s.Caption)
	}
	if len(f.SubFigures) > 0 {
		b.withSub++
		b.subfigs += len(f.SubFigures)
	}
	for k, m := range f.Mentions {
		if k == maxMentions {
			break
		}
		fj.Men = append(fj.Men, clip(m, 600))
	}
	if f.OCR.Used {
		b.ocrUsed++
		ds.OCR++
		if f.OCR.MeanConfidence > 0 {
			b.ocrConf += f.OCR.MeanConfidence
			b.ocrConfN++
		}
	}
	if len(f.Quality.Flags) > 0 {
		ds.Flagged++
		seen := map[string]bool{}
		for _, fl := range f.Quality.Flags {
			if seen[fl] {
				continue
			}
			seen[fl] = true
			k, ok := b.flagIdx[fl]
			if !ok {
				k = len(b.flagNames)
				b.flagIdx[fl] = k
				b.flagNames = append(b.flagNames, fl)
				b.flagMembers = append(b.flagMembers, nil)
			}
			b.flagMembers[k] = append(b.flagMembers[k], i)
		}
	}
	// The crop: bytes carried by the record, or a file beside the records.
	name := imageName(f.ID, i, f.Image.Format, it.ImagePath)
	switch {
	case name == "":
		b.sum.MissingImages++
	case len(f.ImageBytes) > 0:
		data := f.ImageBytes
		if err := safefile.CheckImage("figure "+f.ID+" image", data, f.Image.Format, ""); err != nil {
			b.badImage(err)
			b.sum.MissingImages++
			break
		}
		fj.Img = "images/" + name
		dst := filepath.Join(b.opts.Dir, "images", name)
		if err := b.copies.do(ctx, func() error { return b.writeFile(dst, data) }); err != nil {
			return err
		}
	case it.ImagePath != "":
		fj.Img = "images/" + name
		srcPath, dst := it.ImagePath, filepath.Join(b.opts.Dir, "images", name)
		// The record's sha256 is that of the PNG crop `eosin extract` wrote.
		sha := ""
		if strings.EqualFold(filepath.Ext(srcPath), ".png") {
			sha = f.Image.SHA256
		}
		root := it.ImageRoot
		if err := b.copies.do(ctx, func() error { return b.copyImage(dst, root, srcPath, sha) }); err != nil {
			return err
		}
	default:
		b.sum.MissingImages++
	}
	ref, err := b.figSpill.add(spilledFigure{F: fj, T: searchText(text...)})
	if err != nil {
		return err
	}
	b.figRefs = append(b.figRefs, ref)
	b.figKeys = append(b.figKeys, orderKey{doc: d, page: f.Page, y: fj.BBox[1], x: fj.BBox[0], read: i})
	return nil
}

// spilledFigure is a figure between reading and writing: its record and search text.
type spilledFigure struct {
	F figJSON `json:"f"`
	T string  `json:"t"`
}

// writeFigures writes the figures in report order (perm maps read document indexes to
// ordered ones): data/figures-NNNN.js, data/text-NNNN.js and data/ids-0000.js (the link key of
// every figure, in order). Flag members and figure positions by id follow the new order.
func (b *builder) writeFigures(perm []int) error {
	for k := range b.figKeys {
		b.figKeys[k].doc = perm[b.figKeys[k].doc]
	}
	order := sortByKey(b.figKeys)
	pos := make([]int, len(order))
	for p, r := range order {
		pos[r] = p
	}
	for k, m := range b.flagMembers {
		for j, r := range m {
			m[j] = pos[r]
		}
		sort.Ints(m)
		b.flagMembers[k] = m
	}
	keys := newKeyer(len(order))
	ids := make([]string, 0, len(order))
	size, tsize := b.opts.ChunkSize, b.textChunk()
	for p, r := range order {
		var sf spilledFigure
		if err := b.figSpill.get(b.figRefs[r], &sf); err != nil {
			return fmt.Errorf("order figures: %w", err)
		}
		fj := sf.F
		fj.I, fj.Doc = p, perm[fj.Doc]
		fj.PK = fmt.Sprintf("%s-p%04d", docSlug(b.docs[fj.Doc]), fj.Page)
		key := keys.key(fj.ID, p)
		if key != fj.ID {
			fj.Key = key
		}
		ids = append(ids, key)
		if _, dup := b.figByID[fj.ID]; !dup && fj.ID != "" {
			b.figByID[fj.ID] = p
		}
		b.figs = append(b.figs, fj)
		b.texts = append(b.texts, sf.T)
		b.fdoc = append(b.fdoc, fj.Doc)
		if len(b.texts) == tsize {
			if err := b.flushTexts(p / tsize); err != nil {
				return err
			}
		}
		if len(b.figs) == size {
			if err := b.flushFigures(p / size); err != nil {
				return err
			}
		}
	}
	last := len(order) - 1
	if err := b.flushTexts(last / tsize); err != nil {
		return err
	}
	if err := b.flushFigures(last / size); err != nil {
		return err
	}
	if len(ids) > 0 {
		if err := b.writeData("ids", 0, ids); err != nil {
			return err
		}
	}
	b.figRefs, b.figKeys = nil, nil
	b.figSpill.close()
	return nil
}

// textChunk is the number of figures per search-text file: search reads them all, so they
// are larger than the record chunks (fewer scripts to load).
func (b *builder) textChunk() int { return 10 * b.opts.ChunkSize }

// flushTexts writes the buffered search texts as text chunk n.
func (b *builder) flushTexts(n int) error {
	if len(b.texts) == 0 {
		return nil
	}
	// One string, a line per figure (search text has no line breaks): browsers parse one
	// long string literal much faster than an array of thousands of short ones.
	if err := b.writeData("text", n, strings.Join(b.texts, "\n")); err != nil {
		return err
	}
	b.texts = b.texts[:0]
	return nil
}

// SearchText is the text a figure's search matches against: its id, label, caption and
// sub-figure labels and captions, lower-cased, white space collapsed. A query matches a
// figure when every white-space separated term of the lower-cased query is a substring.
func SearchText(f shards.Figure) string {
	text := []string{f.ID, f.Label, f.Caption}
	for _, s := range f.SubFigures {
		text = append(text, s.Label, s.Caption)
	}
	return searchText(text...)
}

func searchText(parts ...string) string {
	var sb strings.Builder
	for _, p := range parts {
		for _, w := range strings.Fields(strings.ToLower(p)) {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
		}
	}
	return sb.String()
}

// imageName is the file name of figure i's crop in images/, or "" when its format is not one
// browsers show (JPEG 2000, TIFF): such a figure is listed without a crop.
func imageName(id string, i int, format, path string) string {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if ext == "" {
		ext = strings.ToLower(format)
	}
	switch ext {
	case "", "png":
		ext = "png"
	case "jpg", "jpeg", "webp", "gif":
	default:
		return ""
	}
	if safeName(id) {
		return id + "." + ext
	}
	h := sha256.Sum256([]byte(id))
	return fmt.Sprintf("f%d-%s.%s", i, hex.EncodeToString(h[:6]), ext)
}

func docSlug(d *docStat) string {
	if len(d.SHA) >= 16 && safeName(d.SHA) {
		return d.SHA[:16]
	}
	h := sha256.Sum256([]byte(d.key))
	return hex.EncodeToString(h[:8])
}

// flushFigures writes the buffered figures as figure chunk n.
func (b *builder) flushFigures(n int) error {
	if len(b.figs) == 0 {
		return nil
	}
	if err := b.writeData("figures", n, b.figs); err != nil {
		return err
	}
	b.figs = b.figs[:0]
	return nil
}
