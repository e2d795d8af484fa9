package extract

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

func isLimit(err error) bool { return errors.Is(err, ErrLimit) }

// imageInfo is what both image XObjects and inline images describe.
type imageInfo struct {
	w, h    int
	bpc     int
	cs      string // colour space family name
	ncomp   int
	palette []color.RGBA // Indexed
	filters []string
	mask    bool // ImageMask (stencil)
	smask   bool
	decode  []float64
}

// placement returns the image's bbox: the unit square through the CTM.
func (in *interp) placement() Rect {
	return in.gs.ctm.mul(in.page).bbox(0, 0, 1, 1)
}

func (in *interp) placeImage(ref types.Object, sd types.StreamDict, name string) {
	d := in.doc
	info := in.imageInfo(func(k string) types.Object { return sd.Dict[k] }, resources{d: d})
	info.smask = sd.Dict["SMask"] != nil || sd.Dict["Mask"] != nil
	for _, f := range sd.FilterPipeline {
		info.filters = append(info.filters, f.Name)
	}
	img := Image{BBox: in.placement(), Width: info.w, Height: info.h, ColorSpace: info.cs,
		BitsPerComponent: info.bpc, SoftMask: info.smask, Name: name}
	if info.mask {
		img.ColorSpace = "ImageMask"
	}
	if len(info.filters) > 0 {
		img.Filter = info.filters[len(info.filters)-1]
	}
	if d.cfg.imageData {
		if err := d.checkPixels(info); err != nil {
			in.warn("image %s: %v", name, err)
			img.NeedsRender = true
		} else {
			data, _, err := d.imageData(ref)
			if err != nil {
				in.warn("image %s: %v", name, err)
				img.NeedsRender = true
			} else {
				in.fillImageData(&img, info, data)
			}
		}
	} else {
		img.Format, img.NeedsRender = formatFor(info)
	}
	in.out.Images = append(in.out.Images, img)
}

func (d *Document) checkPixels(info imageInfo) error {
	px := int64(info.w) * int64(info.h)
	if info.w < 0 || info.h < 0 || px > d.cfg.limits.MaxImagePixels {
		return &LimitError{Limit: "MaxImagePixels", Value: px, Max: d.cfg.limits.MaxImagePixels}
	}
	return nil
}

// formatFor tells which format Data will have without decoding anything.
func formatFor(info imageInfo) (string, bool) {
	last := ""
	if len(info.filters) > 0 {
		last = info.filters[len(info.filters)-1]
	}
	switch last {
	case "DCTDecode":
		return "jpeg", false
	case "JPXDecode":
		return "jp2", false
	case "CCITTFaxDecode", "JBIG2Decode":
		return "", true
	}
	if info.mask || info.palette != nil || info.ncomp == 1 || info.ncomp == 3 || info.ncomp == 4 {
		return "png", false
	}
	return "", true
}

// fillImageData stores the image bytes: JPEG and JPEG 2000 unchanged, everything else decoded
// to pixels and re-encoded as PNG; CCITT and JBIG2 are marked for rendering.
func (in *interp) fillImageData(img *Image, info imageInfo, data []byte) {
	format, needs := formatFor(info)
	img.Format, img.NeedsRender = format, needs
	switch {
	case needs:
		img.Format = ""
	case format == "jpeg" || format == "jp2":
		img.Data = data
	default:
		b, err := encodePNG(info, data)
		if err != nil {
			in.warn("image %s: %v", img.Name, err)
			img.Format, img.NeedsRender = "", true
			return
		}
		img.Data = b
	}
}

// imageInfo reads an image dictionary (get looks a key up, with inline abbreviations resolved
// by the caller).
func (in *interp) imageInfo(get func(string) types.Object, res resources) imageInfo {
	d := in.doc
	var info imageInfo
	w, _ := d.number(get("Width"))
	h, _ := d.number(get("Height"))
	info.w, info.h = int(w), int(h)
	bpc, _ := d.number(get("BitsPerComponent"))
	info.bpc = int(bpc)
	if m := d.deref(get("ImageMask")); m != nil {
		if b, ok := m.(types.Boolean); ok && bool(b) {
			info.mask = true
			info.bpc = 1
			info.ncomp = 1
			info.cs = ""
		}
	}
	for _, o := range d.array(get("Decode")) {
		v, _ := d.number(o)
		info.decode = append(info.decode, v)
	}
	if !info.mask {
		in.resolveColorSpace(&info, d.deref(get("ColorSpace")), res, 0)
	}
	if info.bpc == 0 {
		info.bpc = 8
	}
	return info
}

func (in *interp) resolveColorSpace(info *imageInfo, cs types.Object, res resources, depth int) {
	d := in.doc
	if depth > 4 {
		return
	}
	switch v := cs.(type) {
	case types.Name:
		n := string(v)
		switch n {
		case "DeviceGray", "G", "CalGray":
			info.cs, info.ncomp = "DeviceGray", 1
		case "DeviceRGB", "RGB", "CalRGB":
			info.cs, info.ncomp = "DeviceRGB", 3
		case "DeviceCMYK", "CMYK":
			info.cs, info.ncomp = "DeviceCMYK", 4
		default:
			if o := res.lookup("ColorSpace", n); o != nil {
				in.resolveColorSpace(info, d.deref(o), res, depth+1)
				return
			}
			info.cs = n
		}
	case types.Array:
		if len(v) == 0 {
			return
		}
		fam := d.name(v[0])
		switch fam {
		case "ICCBased":
			if len(v) > 1 {
				if sd := d.dict(v[1]); sd != nil {
					nc, _ := d.number(sd["N"])
					info.ncomp = int(nc)
				}
			}
			info.cs = "ICCBased"
		case "CalRGB", "CalGray", "Lab":
			info.cs = fam
			info.ncomp = map[string]int{"CalRGB": 3, "CalGray": 1, "Lab": 3}[fam]
			if fam == "Lab" {
				info.ncomp = -3 // not convertible here
			}
		case "Indexed", "I":
			info.cs = "Indexed"
			if len(v) < 4 {
				return
			}
			var baseInfo imageInfo
			in.resolveColorSpace(&baseInfo, d.deref(v[1]), res, depth+1)
			hival, _ := d.number(v[2])
			var lookup []byte
			switch t := d.deref(v[3]).(type) {
			case types.StringLiteral:
				lookup, _ = types.Unescape(string(t))
			case types.HexLiteral:
				lookup, _ = t.Bytes()
			case types.StreamDict:
				lookup, _, _ = d.streamData(v[3])
			}
			nc := baseInfo.ncomp
			if nc != 1 && nc != 3 && nc != 4 {
				info.ncomp = -1
				return
			}
			n := min(int(hival)+1, 256)
			info.palette = make([]color.RGBA, 256)
			for i := 0; i < n && (i+1)*nc <= len(lookup); i++ {
				p := lookup[i*nc : (i+1)*nc]
				info.palette[i] = toRGBA(p, nc)
			}
			info.ncomp = 1
		case "Separation", "DeviceN":
			info.cs = fam
			if fam == "Separation" {
				info.ncomp = -1
			} else if len(v) > 1 {
				info.ncomp = -len(d.array(v[1]))
			}
		default:
			in.resolveColorSpace(info, types.Name(fam), res, depth+1)
		}
	}
}

func toRGBA(p []byte, nc int) color.RGBA {
	switch nc {
	case 1:
		return color.RGBA{p[0], p[0], p[0], 255}
	case 3:
		return color.RGBA{p[0], p[1], p[2], 255}
	default:
		k := 255 - int(p[3])
		return color.RGBA{uint8((255 - int(p[0])) * k / 255), uint8((255 - int(p[1])) * k / 255), uint8((255 - int(p[2])) * k / 255), 255}
	}
}

// encodePNG turns decoded image samples into a PNG.
func encodePNG(info imageInfo, data []byte) ([]byte, error) {
	w, h, bpc, nc := info.w, info.h, info.bpc, info.ncomp
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("image size %d×%d", w, h)
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return nil, fmt.Errorf("colour space %s not convertible", info.cs)
	}
	if bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16 {
		return nil, fmt.Errorf("%d bits per component", bpc)
	}
	stride := (w*nc*bpc + 7) / 8
	if len(data) < stride*h {
		if len(data) < stride {
			return nil, fmt.Errorf("image data short: %d bytes for %d rows of %d", len(data), h, stride)
		}
		h = len(data) / stride // keep the rows that are there
	}
	invert := len(info.decode) >= 2 && info.decode[0] > info.decode[1]
	if info.mask {
		// Stencil masks: 0 paints (black) unless Decode is [1 0].
		invert = !invert
	}
	maxv := (1 << bpc) - 1
	sample := func(row []byte, i int) int {
		switch bpc {
		case 8:
			return int(row[i])
		case 16:
			return int(row[2*i])
		default:
			bit := i * bpc
			return int(row[bit/8]>>(8-bpc-bit%8)) & maxv
		}
	}
	scale := func(v int) uint8 {
		if bpc == 16 {
			return uint8(v)
		}
		return uint8(v * 255 / maxv)
	}
	var img image.Image
	switch {
	case info.palette != nil:
		pal := make(color.Palette, 256)
		for i := range pal {
			pal[i] = info.palette[i]
		}
		p := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := 0; y < h; y++ {
			row := data[y*stride:]
			for x := 0; x < w; x++ {
				p.Pix[y*p.Stride+x] = uint8(sample(row, x))
			}
		}
		img = p
	case nc == 1:
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := data[y*stride:]
			for x := 0; x < w; x++ {
				v := scale(sample(row, x))
				if invert {
					v = 255 - v
				}
				g.Pix[y*g.Stride+x] = v
			}
		}
		img = g
	default:
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		var px [4]byte
		for y := 0; y < h; y++ {
			row := data[y*stride:]
			for x := 0; x < w; x++ {
				for c := 0; c < nc; c++ {
					px[c] = scale(sample(row, x*nc+c))
				}
				col := toRGBA(px[:nc], nc)
				o := y*rgba.Stride + 4*x
				rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2], rgba.Pix[o+3] = col.R, col.G, col.B, 255
			}
		}
		img = rgba
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var inlineKeys = map[string]string{
	"W": "Width", "H": "Height", "BPC": "BitsPerComponent", "CS": "ColorSpace", "F": "Filter",
	"DP": "DecodeParms", "IM": "ImageMask", "D": "Decode", "I": "Interpolate", "L": "Length",
}

var inlineFilters = map[string]string{
	"AHx": "ASCIIHexDecode", "A85": "ASCII85Decode", "LZW": "LZWDecode", "Fl": "FlateDecode",
	"RL": "RunLengthDecode", "CCF": "CCITTFaxDecode", "DCT": "DCTDecode",
}

// toObject converts a content-stream operand to a pdfcpu object.
func toObject(o operand) types.Object {
	switch o.k {
	case kNum:
		if o.num == float64(int(o.num)) {
			return types.Integer(int(o.num))
		}
		return types.Float(o.num)
	case kName:
		n := o.name()
		if f, ok := inlineFilters[n]; ok {
			n = f
		}
		return types.Name(n)
	case kBool:
		return types.Boolean(o.num != 0)
	case kStr:
		return types.StringLiteral(string(o.s))
	case kArr:
		a := make(types.Array, 0, len(o.arr))
		for _, e := range o.arr {
			a = append(a, toObject(e))
		}
		return a
	case kDict:
		d := types.Dict{}
		for i := 0; i+1 < len(o.arr); i += 2 {
			if o.arr[i].k == kName {
				k := o.arr[i].name()
				if full, ok := inlineKeys[k]; ok {
					k = full
				}
				d[k] = toObject(o.arr[i+1])
			}
		}
		return d
	}
	return nil
}

// inlineImage reads BI … ID data EI from the lexer and records the image.
func (in *interp) inlineImage(l *lexer, res resources) error {
	dict := types.Dict{}
	for {
		key, ok := l.next()
		if !ok {
			return nil
		}
		if key.k == kOp && string(key.s) == "ID" {
			break
		}
		val, ok := l.next()
		if !ok {
			return nil
		}
		if key.k == kName {
			k := key.name()
			if full, ok := inlineKeys[k]; ok {
				k = full
			}
			dict[k] = toObject(val)
		}
	}
	// One white-space byte follows ID, then the data up to EI.
	if l.pos < len(l.b) && isWhite(l.b[l.pos]) {
		l.pos++
	}
	start := l.pos
	end, after := findEI(l.b, start)
	data := l.b[start:end]
	l.pos = after

	get := func(k string) types.Object { return dict[k] }
	info := in.imageInfo(get, res)
	var filters []types.PDFFilter
	switch f := dict["Filter"].(type) {
	case types.Name:
		filters = append(filters, types.PDFFilter{Name: string(f)})
	case types.Array:
		for _, e := range f {
			if n, ok := e.(types.Name); ok {
				filters = append(filters, types.PDFFilter{Name: string(n)})
			}
		}
	}
	for _, f := range filters {
		info.filters = append(info.filters, f.Name)
	}
	img := Image{BBox: in.placement(), Width: info.w, Height: info.h, ColorSpace: info.cs,
		BitsPerComponent: info.bpc, Inline: true}
	if info.mask {
		img.ColorSpace = "ImageMask"
	}
	if len(info.filters) > 0 {
		img.Filter = info.filters[len(info.filters)-1]
	}
	if in.doc.cfg.imageData {
		if err := in.doc.checkPixels(info); err != nil {
			in.warn("inline image: %v", err)
			img.NeedsRender = true
		} else {
			sd := types.StreamDict{Dict: dict, Raw: data, FilterPipeline: filters}
			if len(filters) == 0 {
				sd.Content = data
			} else if err := in.doc.decode(&sd, in.doc.cfg.limits.MaxStreamBytes, "MaxStreamBytes"); err != nil {
				if isLimit(err) {
					return err
				}
				in.warn("inline image: %v", err)
			}
			if sd.Content != nil {
				in.fillImageData(&img, info, sd.Content)
			} else {
				img.NeedsRender = true
			}
		}
	} else {
		img.Format, img.NeedsRender = formatFor(info)
	}
	in.out.Images = append(in.out.Images, img)
	return nil
}

// findEI finds the EI that ends inline image data: white space, "EI", then white space or
// the end of the stream.
func findEI(b []byte, start int) (end, after int) {
	for i := start; i+1 < len(b); i++ {
		if b[i] == 'E' && b[i+1] == 'I' && (i == start || isWhite(b[i-1])) &&
			(i+2 == len(b) || isWhite(b[i+2]) || isDelim(b[i+2])) {
			// The byte before EI is white space that belongs to the syntax, not the data.
			if i > start && isWhite(b[i-1]) {
				return i - 1, i + 2
			}
			return i, i + 2
		}
	}
	return len(b), len(b)
}
