package articles

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Limits bound what an article package may hold.
type Limits struct {
	// MaxBytes is the most bytes read from a package, uncompressed (default 2 GiB).
	MaxBytes int64
	// MaxEntries is the most entries of a .tar.gz (default 20 000).
	MaxEntries int
	// MaxXMLBytes is the largest article XML (default 64 MiB).
	MaxXMLBytes int64
}

// DefaultLimits are the limits Process uses when Options.Limits is zero.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 2 << 30, MaxEntries: 20000, MaxXMLBytes: 64 << 20}
}

// Package errors; each becomes a document reject whose reason is Reason(err).
var (
	// ErrUnsafe: a .tar.gz entry with an absolute path, a ".." component, a link or a device.
	ErrUnsafe = errors.New("unsafe archive entry")
	// ErrNoXML: no article XML in the package.
	ErrNoXML = errors.New("no article xml")
	// ErrSeveralXML: more than one candidate article XML.
	ErrSeveralXML = errors.New("several article xml files")
	// ErrTooLarge: beyond Limits.
	ErrTooLarge = errors.New("package too large")
)

// File is a file of a package: on disk (Path) or read from an archive (Data).
type File struct {
	Name string // base name
	Path string
	Data []byte
	Size int64
}

// Bytes returns the file's content.
func (f *File) Bytes() ([]byte, error) {
	if f.Data != nil || f.Path == "" {
		return f.Data, nil
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name, err)
	}
	return b, nil
}

// Package is an article package opened: its XML and the files beside it.
type Package struct {
	URI   string // the input as given
	XML   *File
	Files []*File // every other kept file (PDFs and images), sorted by name
	// Loose is set for a .nxml/.xml file given alone: its folder is not the article's, so
	// only a PDF named by the XML or named like it belongs to the article.
	Loose bool
}

// kept tells which archive entries are worth keeping: article XML, PDFs and images.
func kept(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".nxml", ".xml", ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".jp2", ".webp":
		return true
	}
	return false
}

// IsArchive reports whether a file name is a .tar.gz (.tgz) package.
func IsArchive(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz")
}

// IsXML reports whether a file name is article XML (.nxml or .xml).
func IsXML(name string) bool {
	e := strings.ToLower(filepath.Ext(name))
	return e == ".nxml" || e == ".xml"
}

// Open opens an article package: a folder holding one .nxml (or one .xml) with the PDF and
// figure files beside it, a .tar.gz of such a folder, or a .nxml/.xml file whose PDF and
// figure files sit beside it.
func Open(ctx context.Context, p string, lim Limits) (*Package, error) {
	lim = lim.withDefaults()
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p, err)
	}
	switch {
	case st.IsDir():
		return openDir(p, lim)
	case IsArchive(p):
		return openArchive(ctx, p, lim)
	case IsXML(p):
		return openXMLFile(p, lim)
	}
	return nil, fmt.Errorf("package %s: %w", p, ErrNoXML)
}

func (lim Limits) withDefaults() Limits {
	d := DefaultLimits()
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = d.MaxBytes
	}
	if lim.MaxEntries <= 0 {
		lim.MaxEntries = d.MaxEntries
	}
	if lim.MaxXMLBytes <= 0 {
		lim.MaxXMLBytes = d.MaxXMLBytes
	}
	return lim
}

// openDir reads a folder (and its sub-folders): files are followed through symbolic links,
// as the folder is the user's own.
func openDir(dir string, lim Limits) (*Package, error) {
	pkg := &Package{URI: dir}
	var files []*File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !kept(d.Name()) {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return nil // a dangling link or a device: not a file of the package
		}
		files = append(files, &File{Name: d.Name(), Path: p, Size: st.Size()})
		if len(files) > lim.MaxEntries {
			return fmt.Errorf("%w: more than %d files", ErrTooLarge, lim.MaxEntries)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", dir, err)
	}
	return pkg.assemble(files, lim)
}

// openXMLFile takes a .nxml/.xml file with the files beside it.
func openXMLFile(p string, lim Limits) (*Package, error) {
	pkg := &Package{URI: p, Loose: true}
	dir := filepath.Dir(p)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p, err)
	}
	var files []*File
	for _, e := range ents {
		full := filepath.Join(dir, e.Name())
		if e.IsDir() || !kept(e.Name()) || (IsXML(e.Name()) && full != filepath.Join(dir, filepath.Base(p))) {
			continue
		}
		st, err := os.Stat(full)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		files = append(files, &File{Name: e.Name(), Path: full, Size: st.Size()})
	}
	return pkg.assemble(files, lim)
}

// openArchive reads a .tar.gz into memory, refusing entries that could write or read outside
// the package: absolute names, ".." components, links and special files.
func openArchive(ctx context.Context, p string, lim Limits) (*Package, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p, err)
	}
	defer f.Close()
	return ReadArchive(ctx, p, f, lim)
}

// ReadArchive reads a package in .tar.gz form from r (an object store's stream, say); uri
// names it in records and errors. It refuses what Open refuses.
func ReadArchive(ctx context.Context, uri string, r io.Reader, lim Limits) (*Package, error) {
	lim = lim.withDefaults()
	p := uri
	pkg := &Package{URI: p}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p, err)
	}
	tr := tar.NewReader(zr)
	var files []*File
	var total int64
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", p, err)
		}
		if n >= lim.MaxEntries {
			return nil, fmt.Errorf("package %s: %w: more than %d entries", p, ErrTooLarge, lim.MaxEntries)
		}
		if err := safeName(h.Name); err != nil {
			return nil, fmt.Errorf("package %s: entry %q: %w", p, h.Name, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		default:
			return nil, fmt.Errorf("package %s: entry %q: %w: type %q (links and special files are refused)", p, h.Name, ErrUnsafe, h.Typeflag)
		}
		if h.Size < 0 || total+h.Size > lim.MaxBytes {
			return nil, fmt.Errorf("package %s: %w: more than %d bytes", p, ErrTooLarge, lim.MaxBytes)
		}
		total += h.Size
		name := path.Base(h.Name)
		if !kept(name) {
			continue
		}
		if IsXML(name) && h.Size > lim.MaxXMLBytes {
			return nil, fmt.Errorf("package %s: entry %q: %w: xml over %d bytes", p, h.Name, ErrTooLarge, lim.MaxXMLBytes)
		}
		data, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("package %s: entry %q: %w", p, h.Name, err)
		}
		files = append(files, &File{Name: name, Data: data, Size: int64(len(data))})
	}
	return pkg.assemble(files, lim)
}

// safeName refuses archive names that are absolute or climb out of the package.
func safeName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return fmt.Errorf("%w: absolute path", ErrUnsafe)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return fmt.Errorf("%w: path leaves the package", ErrUnsafe)
		}
	}
	return nil
}

// assemble picks the article XML among the files: the one .nxml, else the one .xml.
func (pkg *Package) assemble(files []*File, lim Limits) (*Package, error) {
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var nxml, xml []*File
	for _, f := range files {
		switch strings.ToLower(path.Ext(f.Name)) {
		case ".nxml":
			nxml = append(nxml, f)
		case ".xml":
			xml = append(xml, f)
		}
	}
	cands := nxml
	if len(cands) == 0 {
		cands = xml
	}
	switch {
	case len(cands) == 0:
		return nil, fmt.Errorf("package %s: %w", pkg.URI, ErrNoXML)
	case len(cands) > 1:
		names := make([]string, len(cands))
		for i, c := range cands {
			names[i] = c.Name
		}
		return nil, fmt.Errorf("package %s: %w: %s", pkg.URI, ErrSeveralXML, strings.Join(names, ", "))
	}
	pkg.XML = cands[0]
	if pkg.XML.Size > lim.MaxXMLBytes {
		return nil, fmt.Errorf("package %s: %w: %s over %d bytes", pkg.URI, ErrTooLarge, pkg.XML.Name, lim.MaxXMLBytes)
	}
	for _, f := range files {
		if f != pkg.XML && !IsXML(f.Name) {
			pkg.Files = append(pkg.Files, f)
		}
	}
	return pkg, nil
}

// PDFs lists the package's PDF files.
func (pkg *Package) PDFs() []*File {
	var out []*File
	for _, f := range pkg.Files {
		if strings.EqualFold(path.Ext(f.Name), ".pdf") {
			out = append(out, f)
		}
	}
	return out
}

// choosePDF picks the article's PDF: the one the XML names, else the one named like the XML,
// else (in a package folder or archive) the only PDF that is not supplementary material. nil
// when there is none (or no way to tell several apart).
func (pkg *Package) choosePDF(named string, supplementary []string) *File {
	pdfs := pkg.PDFs()
	if named != "" {
		for _, f := range pdfs {
			if strings.EqualFold(f.Name, path.Base(named)) {
				return f
			}
		}
	}
	stem := strings.TrimSuffix(pkg.XML.Name, path.Ext(pkg.XML.Name))
	for _, f := range pdfs {
		if strings.EqualFold(strings.TrimSuffix(f.Name, path.Ext(f.Name)), stem) {
			return f
		}
	}
	if pkg.Loose {
		return nil
	}
	supp := map[string]bool{}
	for _, s := range supplementary {
		supp[strings.ToLower(path.Base(s))] = true
	}
	var rest []*File
	for _, f := range pdfs {
		if !supp[strings.ToLower(f.Name)] {
			rest = append(rest, f)
		}
	}
	if len(rest) == 1 {
		return rest[0]
	}
	return nil
}

// imageExts in order of preference for a figure's own file: formats every reader decodes
// first, then TIFF originals, then GIF thumbnails.
var imageExts = []string{".png", ".jpg", ".jpeg", ".tif", ".tiff", ".jp2", ".webp", ".gif"}

// figureFile finds the file a <graphic> reference names (with or without its extension).
func (pkg *Package) figureFile(ref string) *File {
	ref = path.Base(strings.ReplaceAll(ref, `\`, "/"))
	if ref == "" || ref == "." {
		return nil
	}
	best, rank := (*File)(nil), len(imageExts)
	for _, f := range pkg.Files {
		ext := strings.ToLower(path.Ext(f.Name))
		r := indexOf(imageExts, ext)
		if r < 0 {
			continue
		}
		stem := strings.TrimSuffix(f.Name, path.Ext(f.Name))
		refExt := strings.ToLower(path.Ext(ref))
		if !strings.EqualFold(f.Name, ref) && !strings.EqualFold(stem, ref) &&
			!(indexOf(imageExts, refExt) >= 0 && strings.EqualFold(stem, strings.TrimSuffix(ref, path.Ext(ref)))) {
			continue
		}
		if r < rank {
			best, rank = f, r
		}
	}
	return best
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
