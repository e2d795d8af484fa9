// Package vision is the Qwen2-VL / Qwen2.5-VL vision side of the trainer: the image
// processor (smart resize, PIL-style bicubic resampling, normalisation, patch flattening), the
// vision tower with its patch merger (forward and backward on the model package's CPU
// backend), image-token expansion for the chat template and a vision-language model that feeds
// the merged image features into the decoder at the <|image_pad|> positions.
package vision

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Qwen2-VL image processor constants.
const (
	PatchSize         = 14
	TemporalPatchSize = 2
	MergeSize         = 2
	// Factor is the resize granularity: patch size × merge size.
	Factor = PatchSize * MergeSize
	// DefaultMinPixels and DefaultMaxPixels are the processor class defaults.
	DefaultMinPixels = 56 * 56
	DefaultMaxPixels = 28 * 28 * 1280
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
	if h < Factor || w < Factor {
		return 0, 0, fmt.Errorf("smart resize: %d×%d: height and width must be at least %d", h, w, Factor)
	}
	if float64(max(h, w))/float64(min(h, w)) > 200 {
		return 0, 0, fmt.Errorf("smart resize: %d×%d: aspect ratio above 200", h, w)
	}
	f := float64(Factor)
	hb := int(math.RoundToEven(float64(h)/f)) * Factor
	wb := int(math.RoundToEven(float64(w)/f)) * Factor
	switch {
	case hb*wb > maxPixels:
		beta := math.Sqrt(float64(h*w) / float64(maxPixels))
		hb = max(Factor, int(math.Floor(float64(h)/beta/f))*Factor)
		wb = max(Factor, int(math.Floor(float64(w)/beta/f))*Factor)
	case hb*wb < minPixels:
		beta := math.Sqrt(float64(minPixels) / float64(h*w))
		hb = int(math.Ceil(float64(h)*beta/f)) * Factor
		wb = int(math.Ceil(float64(w)*beta/f)) * Factor
	}
	return hb, wb, nil
}

// Grid is an image's patch grid (temporal, height, width) in 14-pixel patches (grid_thw).
type Grid struct{ T, H, W int }

// Patches is the number of patch rows t·h·w.
func (g Grid) Patches() int { return g.T * g.H * g.W }

// Tokens is the number of merged tokens (<|image_pad|> positions) t·h·w/4.
func (g Grid) Tokens() int { return g.T * g.H * g.W / (MergeSize * MergeSize) }

// Processor holds the processor options of preprocessor_config.json.
type Processor struct {
	MinPixels, MaxPixels int
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

// Preprocess turns an image into pixel_values rows [t·h·w, 1176] and its grid, exactly in the
// order of Qwen2VLImageProcessor: smart resize, bicubic resampling, rescale by 1/255,
// normalisation, the frame duplicated to the temporal patch size, rows ordered by (t, h/2
// block, w/2 block, row in block, column in block) and each row by (channel, frame, y, x).
func (p Processor) Preprocess(img RGB8) ([]float32, Grid, error) {
	minP, maxP := p.MinPixels, p.MaxPixels
	if minP == 0 {
		minP = DefaultMinPixels
	}
	if maxP == 0 {
		maxP = DefaultMaxPixels
	}
	h, w, err := SmartResize(img.H, img.W, minP, maxP)
	if err != nil {
		return nil, Grid{}, err
	}
	r := ResizeBicubic(img, w, h)
	g := Grid{T: 1, H: h / PatchSize, W: w / PatchSize}
	// Normalised planes [3][h][w].
	plane := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := float64(r.Pix[3*(y*w+x)+c]) / 255
				plane[(c*h+y)*w+x] = float32((v - ImageMean[c]) / ImageStd[c])
			}
		}
	}
	out := make([]float32, 0, g.Patches()*PatchDim)
	for bh := 0; bh < g.H/MergeSize; bh++ {
		for bw := 0; bw < g.W/MergeSize; bw++ {
			for mh := 0; mh < MergeSize; mh++ {
				for mw := 0; mw < MergeSize; mw++ {
					py, px := (bh*MergeSize+mh)*PatchSize, (bw*MergeSize+mw)*PatchSize
					for c := 0; c < 3; c++ {
						for range TemporalPatchSize {
							for y := 0; y < PatchSize; y++ {
								row := plane[(c*h+py+y)*w+px:]
								out = append(out, row[:PatchSize]...)
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
