// Package vision is the Qwen2-VL / Qwen2.5-VL vision side of the trainer: the image
// processor (smart resize, PIL-style bicubic resampling, normalisation, patch flattening), the
// vision tower with its patch merger (forward and backward on the model package's CPU
// backend), image-token expansion for the chat template and a vision-language model that feeds
// the merged image features into the decoder at the <|image_pad|> positions.
package vision

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Qwen2-VL image processor constants.
const (
	PatchSize         = 14
	TemporalPatchSize = 2
	MergeSize         = 2
	// Factor is the resize granularity: patch size × merge size.
	Factor = PatchSize * MergeSize
	// DefaultMinPixels and DefaultMaxPixels are the bounds in the preprocessor_config.json
	// published with the Qwen2-VL and Qwen2.5-VL checkpoints (the processor class itself
	// defaults to a max of 28·28·1280 = 1 003 520).
	DefaultMinPixels = 56 * 56
	DefaultMaxPixels = 28 * 28 * 16384
	// PatchDim is the length of one flattened patch row: channels × temporal × 14 × 14.
	PatchDim = 3 * TemporalPatchSize * PatchSize * PatchSize
)

// ImageMean and ImageStd are the CLIP normalisation constants the Qwen2-VL processor uses.
var (
	ImageMean = [3]float64{0.48145466, 0.4578275, 0.40821073}
	ImageStd  = [3]float64{0.26862954, 0.26130258, 0.27577711}
)

// SmartResize returns the processor's target height and width: both multiples of 28, the
// pixel count within [minPixels, maxPixels], the aspect ratio kept as well as possible.
// Python's round (half to even) is reproduced with math.RoundToEven.
func SmartResize(h, w, minPixels, maxPixels int) (int, int, error) {
	return smartResize(h, w, Factor, minPixels, maxPixels)
}

// smartResize is SmartResize for the resize granularity factor (patch size × merge size).
func smartResize(h, w, factor, minPixels, maxPixels int) (int, int, error) {
	if h < factor || w < factor {
		return 0, 0, fmt.Errorf("smart resize: %d×%d: height and width must be at least %d", h, w, factor)
	}
	if float64(max(h, w))/float64(min(h, w)) > 200 {
		return 0, 0, fmt.Errorf("smart resize: %d×%d: aspect ratio above 200", h, w)
	}
	f := float64(factor)
	hb := int(math.RoundToEven(float64(h)/f)) * factor
	wb := int(math.RoundToEven(float64(w)/f)) * factor
	switch {
	case hb*wb > maxPixels:
		beta := math.Sqrt(float64(h*w) / float64(maxPixels))
		hb = max(factor, int(math.Floor(float64(h)/beta/f))*factor)
		wb = max(factor, int(math.Floor(float64(w)/beta/f))*factor)
	case hb*wb < minPixels:
		beta := math.Sqrt(float64(minPixels) / float64(h*w))
		hb = int(math.Ceil(float64(h)*beta/f)) * factor
		wb = int(math.Ceil(float64(w)*beta/f)) * factor
	}
	return hb, wb, nil
}

// Grid is an image's patch grid (temporal, height, width) in 14-pixel patches (grid_thw).
type Grid struct{ T, H, W int }

// Patches is the number of patch rows t·h·w.
func (g Grid) Patches() int { return g.T * g.H * g.W }

// Tokens is the number of merged tokens (<|image_pad|> positions) t·h·w/4.
func (g Grid) Tokens() int { return g.T * g.H * g.W / (MergeSize * MergeSize) }

// Processor holds the options of preprocessor_config.json. Zero fields take the published
// Qwen2-VL / Qwen2.5-VL values: pixels 3136 to 12 845 056, patch 14, merge 2, temporal
// patch 2, CLIP mean and std.
type Processor struct {
	MinPixels, MaxPixels                    int
	PatchSize, MergeSize, TemporalPatchSize int
	// ImageMean and ImageStd are per channel (nil: ImageMean and ImageStd).
	ImageMean, ImageStd []float64
}

// PublishedProcessor is the processor of the published checkpoints' preprocessor_config.json.
func PublishedProcessor() Processor {
	return Processor{MinPixels: DefaultMinPixels, MaxPixels: DefaultMaxPixels, PatchSize: PatchSize, MergeSize: MergeSize,
		TemporalPatchSize: TemporalPatchSize, ImageMean: append([]float64(nil), ImageMean[:]...),
		ImageStd: append([]float64(nil), ImageStd[:]...)}
}

// withDefaults fills zero fields with the published values.
func (p Processor) withDefaults() Processor {
	d := PublishedProcessor()
	if p.MinPixels == 0 {
		p.MinPixels = d.MinPixels
	}
	if p.MaxPixels == 0 {
		p.MaxPixels = d.MaxPixels
	}
	if p.PatchSize == 0 {
		p.PatchSize = d.PatchSize
	}
	if p.MergeSize == 0 {
		p.MergeSize = d.MergeSize
	}
	if p.TemporalPatchSize == 0 {
		p.TemporalPatchSize = d.TemporalPatchSize
	}
	if p.ImageMean == nil {
		p.ImageMean = d.ImageMean
	}
	if p.ImageStd == nil {
		p.ImageStd = d.ImageStd
	}
	return p
}

// Validate checks the options are ones this processor implements.
func (p Processor) Validate() error {
	p = p.withDefaults()
	switch {
	case p.MinPixels < 0 || p.MaxPixels < p.MinPixels:
		return fmt.Errorf("processor: min_pixels %d and max_pixels %d must satisfy 0 ≤ min ≤ max", p.MinPixels, p.MaxPixels)
	case p.PatchSize < 0 || p.TemporalPatchSize < 0:
		return fmt.Errorf("processor: patch_size %d and temporal_patch_size %d must be positive", p.PatchSize, p.TemporalPatchSize)
	case p.MergeSize != MergeSize:
		return fmt.Errorf("processor: merge_size %d is not implemented (%d only)", p.MergeSize, MergeSize)
	case len(p.ImageMean) != 3 || len(p.ImageStd) != 3:
		return fmt.Errorf("processor: image_mean %v and image_std %v must have 3 channels", p.ImageMean, p.ImageStd)
	}
	for _, s := range p.ImageStd {
		if s <= 0 {
			return fmt.Errorf("processor: image_std %v must be positive", p.ImageStd)
		}
	}
	return nil
}

// Check tells whether the processor's patches fit the tower c (patch_size,
// temporal_patch_size and merge_size against vision_config).
func (p Processor) Check(c Config) error {
	p = p.withDefaults()
	if p.PatchSize != c.Patch() || p.TemporalPatchSize != c.TemporalPatchSize || p.MergeSize != c.SpatialMergeSize {
		return fmt.Errorf("processor: patch_size %d, temporal_patch_size %d, merge_size %d differ from vision_config's %d, %d, %d",
			p.PatchSize, p.TemporalPatchSize, p.MergeSize, c.Patch(), c.TemporalPatchSize, c.SpatialMergeSize)
	}
	return nil
}

// ParseProcessor decodes preprocessor_config.json bytes: min_pixels and max_pixels, or the
// newer size {shortest_edge, longest_edge} (min_pixels / max_pixels win when both are
// given, as in transformers), patch_size, merge_size, temporal_patch_size, image_mean and
// image_std; absent keys take the published values. Options that change the pixels in a
// way this processor does not implement (do_resize, do_rescale, do_normalize or
// do_convert_rgb false, a rescale_factor other than 1/255) are refused.
func ParseProcessor(b []byte) (Processor, error) {
	var raw struct {
		MinPixels *int `json:"min_pixels"`
		MaxPixels *int `json:"max_pixels"`
		Size      *struct {
			ShortestEdge *int `json:"shortest_edge"`
			LongestEdge  *int `json:"longest_edge"`
		} `json:"size"`
		PatchSize         int       `json:"patch_size"`
		MergeSize         int       `json:"merge_size"`
		TemporalPatchSize int       `json:"temporal_patch_size"`
		ImageMean         []float64 `json:"image_mean"`
		ImageStd          []float64 `json:"image_std"`
		DoResize          *bool     `json:"do_resize"`
		DoRescale         *bool     `json:"do_rescale"`
		DoNormalize       *bool     `json:"do_normalize"`
		DoConvertRGB      *bool     `json:"do_convert_rgb"`
		RescaleFactor     *float64  `json:"rescale_factor"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Processor{}, fmt.Errorf("processor: %w", err)
	}
	for _, o := range []struct {
		key string
		v   *bool
	}{{"do_resize", raw.DoResize}, {"do_rescale", raw.DoRescale}, {"do_normalize", raw.DoNormalize}, {"do_convert_rgb", raw.DoConvertRGB}} {
		if o.v != nil && !*o.v {
			return Processor{}, fmt.Errorf("processor: %s false is not implemented", o.key)
		}
	}
	if raw.RescaleFactor != nil && math.Abs(*raw.RescaleFactor-1.0/255) > 1e-12 {
		return Processor{}, fmt.Errorf("processor: rescale_factor %g is not implemented (1/255 only)", *raw.RescaleFactor)
	}
	p := Processor{PatchSize: raw.PatchSize, MergeSize: raw.MergeSize, TemporalPatchSize: raw.TemporalPatchSize,
		ImageMean: raw.ImageMean, ImageStd: raw.ImageStd}
	if raw.Size != nil {
		if raw.Size.ShortestEdge == nil || raw.Size.LongestEdge == nil {
			return Processor{}, fmt.Errorf("processor: size needs both shortest_edge and longest_edge")
		}
		p.MinPixels, p.MaxPixels = *raw.Size.ShortestEdge, *raw.Size.LongestEdge
	}
	if raw.MinPixels != nil {
		p.MinPixels = *raw.MinPixels
	}
	if raw.MaxPixels != nil {
		p.MaxPixels = *raw.MaxPixels
	}
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return Processor{}, err
	}
	return p, nil
}

// ReadProcessor reads dir/preprocessor_config.json; without that file it returns
// PublishedProcessor.
func ReadProcessor(dir string) (Processor, error) {
	b, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return PublishedProcessor(), nil
	}
	if err != nil {
		return Processor{}, fmt.Errorf("processor: %w", err)
	}
	p, err := ParseProcessor(b)
	if err != nil {
		return Processor{}, fmt.Errorf("%s: %w", filepath.Join(dir, "preprocessor_config.json"), err)
	}
	return p, nil
}

// RGB8 is an 8-bit RGB raster, row-major, 3 bytes per pixel.
type RGB8 struct {
	W, H int
	Pix  []uint8
}

// ToRGB8 converts any image to RGB8. Alpha is dropped without compositing, as PIL's
// convert("RGB") does (colours are taken un-premultiplied).
func ToRGB8(img image.Image) RGB8 {
	b := img.Bounds()
	out := RGB8{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := 3 * (y*out.W + x)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
		}
	}
	return out
}

// Preprocess turns an image into pixel_values rows [t·h·w, 3·temporal·patch²] and its grid,
// exactly in the order of Qwen2VLImageProcessor: smart resize, bicubic resampling, rescale
// by 1/255, normalisation, the frame duplicated to the temporal patch size, rows ordered by
// (t, h/2 block, w/2 block, row in block, column in block) and each row by (channel, frame,
// y, x).
func (p Processor) Preprocess(img RGB8) ([]float32, Grid, error) {
	if err := p.Validate(); err != nil {
		return nil, Grid{}, err
	}
	p = p.withDefaults()
	ps, ms, tps := p.PatchSize, p.MergeSize, p.TemporalPatchSize
	h, w, err := smartResize(img.H, img.W, ps*ms, p.MinPixels, p.MaxPixels)
	if err != nil {
		return nil, Grid{}, err
	}
	r := ResizeBicubic(img, w, h)
	g := Grid{T: 1, H: h / ps, W: w / ps}
	// Normalised planes [3][h][w].
	plane := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := float64(r.Pix[3*(y*w+x)+c]) / 255
				plane[(c*h+y)*w+x] = float32((v - p.ImageMean[c]) / p.ImageStd[c])
			}
		}
	}
	out := make([]float32, 0, g.Patches()*3*tps*ps*ps)
	for bh := 0; bh < g.H/ms; bh++ {
		for bw := 0; bw < g.W/ms; bw++ {
			for mh := 0; mh < ms; mh++ {
				for mw := 0; mw < ms; mw++ {
					py, px := (bh*ms+mh)*ps, (bw*ms+mw)*ps
					for c := 0; c < 3; c++ {
						for range tps {
							for y := 0; y < ps; y++ {
								row := plane[(c*h+py+y)*w+px:]
								out = append(out, row[:ps]...)
							}
						}
					}
				}
			}
		}
	}
	return out, g, nil
}

// bicubic is PIL's bicubic kernel with a = −0.5.
func bicubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

const precisionBits = 32 - 8 - 2

// coeffs computes PIL's antialiased resampling windows and 8-bit fixed-point weights for one
// axis (support widened by the downscale factor).
func coeffs(inSize, outSize int) (bounds []int, kk []int32, ksize int) {
	scale := float64(inSize) / float64(outSize)
	fs := max(scale, 1)
	support := 2 * fs
	ksize = int(math.Ceil(support))*2 + 1
	bounds = make([]int, 2*outSize)
	kk = make([]int32, outSize*ksize)
	k := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		var ww float64
		for x := 0; x < xmax; x++ {
			k[x] = bicubic((float64(x+xmin) - center + 0.5) / fs)
			ww += k[x]
		}
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				k[x] /= ww
			}
			v := k[x] * (1 << precisionBits)
			if v < 0 {
				kk[xx*ksize+x] = int32(v - 0.5)
			} else {
				kk[xx*ksize+x] = int32(v + 0.5)
			}
		}
		bounds[2*xx], bounds[2*xx+1] = xmin, xmax
	}
	return bounds, kk, ksize
}

func clip8(v int64) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ResizeBicubic resamples like PIL's Image.resize(…, BICUBIC) on an 8-bit RGB image: a
// horizontal then a vertical pass (each only when that side changes), fixed-point weights,
// rounding and clipping to 8 bits after each pass.
func ResizeBicubic(img RGB8, w, h int) RGB8 {
	cur := img
	if w != cur.W {
		b, kk, ks := coeffs(cur.W, w)
		out := RGB8{W: w, H: cur.H, Pix: make([]uint8, 3*w*cur.H)}
		for y := 0; y < cur.H; y++ {
			for xx := 0; xx < w; xx++ {
				xmin, xn := b[2*xx], b[2*xx+1]
				for c := 0; c < 3; c++ {
					s := int64(1) << (precisionBits - 1)
					for x := 0; x < xn; x++ {
						s += int64(cur.Pix[3*(y*cur.W+xmin+x)+c]) * int64(kk[xx*ks+x])
					}
					out.Pix[3*(y*w+xx)+c] = clip8(s)
				}
			}
		}
		cur = out
	}
	if h != cur.H {
		b, kk, ks := coeffs(cur.H, h)
		out := RGB8{W: cur.W, H: h, Pix: make([]uint8, 3*cur.W*h)}
		for yy := 0; yy < h; yy++ {
			ymin, yn := b[2*yy], b[2*yy+1]
			for x := 0; x < cur.W; x++ {
				for c := 0; c < 3; c++ {
					s := int64(1) << (precisionBits - 1)
					for y := 0; y < yn; y++ {
						s += int64(cur.Pix[3*((ymin+y)*cur.W+x)+c]) * int64(kk[yy*ks+y])
					}
					out.Pix[3*(yy*cur.W+x)+c] = clip8(s)
				}
			}
		}
		cur = out
	}
	if cur.W == img.W && cur.H == img.H {
		cur = RGB8{W: img.W, H: img.H, Pix: append([]uint8(nil), img.Pix...)}
	}
	return cur
}
