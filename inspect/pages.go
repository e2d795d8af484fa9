package inspect

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// PageRenderer opens source documents so the report can show figures on their pages.
type PageRenderer interface {
	// OpenDocument opens the PDF at path.
	OpenDocument(path string) (PageDocument, error)
}

// PageDocument renders whole pages of one open document.
type PageDocument interface {
	// RenderPage draws page (1-based) at dpi.
	RenderPage(ctx context.Context, page int, dpi float64) (image.Image, error)
	// Close releases the document.
	Close() error
}

// pageJSON locates one page thumbnail.
type pageJSON struct {
	Src string `json:"src"`
	W   int    `json:"w"`
	H   int    `json:"h"`
}

// renderPages draws every page that holds a figure, document by document, on opts.Jobs
// goroutines. A document that cannot be found or read gets a note instead; the report shows
// the crop alone for its figures.
func (b *builder) renderPages(ctx context.Context) error {
	byDoc := map[int][]int{}
	for ref := range b.pageRefs {
		byDoc[ref.doc] = append(byDoc[ref.doc], ref.page)
	}
	docs := make([]int, 0, len(byDoc))
	for d := range byDoc {
		docs = append(docs, d)
	}
	sort.Ints(docs)
	var mu sync.Mutex
	p := newPool(b.opts.Jobs)
	for _, d := range docs {
		ds, pages := b.docs[d], byDoc[d]
		sort.Ints(pages)
		if b.opts.Renderer == nil {
			ds.Note = "page rendering is off: the report shows the crops only"
			b.sum.PagesMissing += len(pages)
			continue
		}
		path, note := resolveDocument(ds, b.opts.SourceRoots)
		if path == "" {
			ds.Note = note
			b.sum.PagesMissing += len(pages)
			continue
		}
		err := p.do(ctx, func() error {
			got, note := b.renderDocument(ctx, ds, path, pages)
			mu.Lock()
			defer mu.Unlock()
			for k, v := range got {
				b.pages[k] = v
			}
			ds.Rendered = len(got)
			ds.Note = note
			b.sum.PagesRendered += len(got)
			b.sum.PagesMissing += len(pages) - len(got)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
	}
	if err := p.close(); err != nil {
		return fmt.Errorf("render pages: %w", err)
	}
	b.opts.Logger.Info("inspect: pages rendered", "pages", b.sum.PagesRendered, "missing", b.sum.PagesMissing)
	return nil
}

// renderDocument renders the given pages of one document into pages/. Failures are notes, not
// errors: a report without some thumbnails is still a report.
func (b *builder) renderDocument(ctx context.Context, ds *docStat, path string, pages []int) (map[string]pageJSON, string) {
	got := map[string]pageJSON{}
	doc, err := b.opts.Renderer.OpenDocument(path)
	if err != nil {
		b.opts.Logger.Warn("inspect: cannot open source document", "path", path, "err", err)
		return got, fmt.Sprintf("source %s could not be opened (%v): the report shows the crops only", path, err)
	}
	defer doc.Close()
	var failed []string
	for _, pg := range pages {
		if ctx.Err() != nil {
			return got, "rendering was interrupted"
		}
		key := fmt.Sprintf("%s-p%04d", docSlug(ds), pg)
		img, err := doc.RenderPage(ctx, pg, b.opts.PageDPI)
		if err != nil {
			b.opts.Logger.Warn("inspect: cannot render page", "path", path, "page", pg, "err", err)
			failed = append(failed, fmt.Sprintf("page %d: %v", pg, err))
			continue
		}
		name := key + ".jpg"
		if err := b.writeJPEG(filepath.Join(b.opts.Dir, "pages", name), img); err != nil {
			failed = append(failed, fmt.Sprintf("page %d: %v", pg, err))
			continue
		}
		r := img.Bounds()
		got[key] = pageJSON{Src: "pages/" + name, W: r.Dx(), H: r.Dy()}
	}
	if len(failed) > 0 {
		return got, fmt.Sprintf("%d page(s) not rendered: %s", len(failed), strings.Join(failed, "; "))
	}
	return got, ""
}

func (b *builder) writeJPEG(dst string, img image.Image) error {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("write page thumbnail: %w", err)
	}
	w := bufio.NewWriter(f)
	err = jpeg.Encode(w, img, &jpeg.Options{Quality: 82})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write page thumbnail %s: %w", dst, err)
	}
	if st, err := os.Stat(dst); err == nil {
		b.bytes.Add(st.Size())
	}
	return nil
}

// resolveDocument finds a document's file: its URI as a local path or file:// URL, absolute
// or relative to the source's directory, its parent, the current directory or one of roots.
// When the record names a sha256, the file must match it (otherwise the boxes would be drawn
// on the wrong page). It returns the path, or "" and a note saying why not.
func resolveDocument(ds *docStat, roots []string) (string, string) {
	uri := ds.URI
	if uri == "" {
		return "", "the records name no source URI: the report shows the crops only"
	}
	p := uri
	if u, err := url.Parse(uri); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		if u.Scheme != "file" {
			return "", fmt.Sprintf("source %s is not a local file: the report shows the crops only", uri)
		}
		p = u.Path
	}
	var cands []string
	if filepath.IsAbs(p) {
		cands = append(cands, p)
		for _, r := range roots {
			cands = append(cands, filepath.Join(r, filepath.Base(p)))
		}
	} else {
		for _, r := range append(append([]string{}, roots...), ds.baseDir, filepath.Dir(ds.baseDir), ".") {
			if r != "" {
				cands = append(cands, filepath.Join(r, p))
			}
		}
	}
	mismatch := ""
	for _, c := range cands {
		st, err := os.Stat(c)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if ds.SHA != "" {
			sum, err := fileSHA256(c)
			if err != nil || !strings.EqualFold(sum, ds.SHA) {
				mismatch = c
				continue
			}
		}
		return c, ""
	}
	if mismatch != "" {
		return "", fmt.Sprintf("source %s has changed since extraction (sha256 differs): the report shows the crops only", mismatch)
	}
	return "", fmt.Sprintf("source %s was not found: the report shows the crops only (pass --source-root to say where the PDFs are)", uri)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
