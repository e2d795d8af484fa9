package ocr

// #cgo LDFLAGS: -ltesseract -llept
// #include <stdlib.h>
// #include "bridge.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"runtime"
	"sync"
	"unsafe"
)

// Image is a page (or region) image decoded by Leptonica, the form Tesseract reads. Encoded
// bytes (JPEG, PNG, TIFF including CCITT G4, PNM, BMP, WebP, JPEG 2000) are decoded by
// Leptonica itself, so JPEG page images reach Tesseract without a detour through Go.
// An Image is safe for concurrent reads; Close releases it.
type Image struct {
	mu     sync.Mutex
	pix    *C.eo_pix
	w, h   int
	depth  int
	dpi    int
	closed bool
	free   runtime.Cleanup
}

// ErrUnreadable is returned when image bytes cannot be decoded.
var ErrUnreadable = errors.New("unreadable image")

// DecodeImage decodes encoded image bytes. dpi is the resolution to assume when the bytes
// carry none (0 keeps what the file says; Tesseract needs a resolution for its size rules).
func DecodeImage(data []byte, dpi int) (*Image, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("decode image: %w: no bytes", ErrUnreadable)
	}
	pix := C.eo_pix_read((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)))
	if pix == nil {
		return nil, fmt.Errorf("decode image (%d bytes): %w", len(data), ErrUnreadable)
	}
	im := wrap(pix)
	if im.w <= 0 || im.h <= 0 {
		im.Close()
		return nil, fmt.Errorf("decode image: %w: empty raster", ErrUnreadable)
	}
	if dpi > 0 && im.dpi <= 0 {
		im.SetDPI(dpi)
	}
	return im, nil
}

func wrap(pix *C.eo_pix) *Image {
	var w, h, d, res C.int
	C.eo_pix_info(pix, &w, &h, &d, &res)
	im := &Image{pix: pix, w: int(w), h: int(h), depth: int(d), dpi: int(res)}
	// Close frees the pix; the cleanup covers images that were never closed.
	im.free = runtime.AddCleanup(im, func(p *C.eo_pix) { C.eo_pix_free(p) }, pix)
	return im
}

// Close releases the image. Using it afterwards returns errors.
func (im *Image) Close() {
	if im == nil {
		return
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return
	}
	im.closed = true
	im.free.Stop()
	C.eo_pix_free(im.pix)
	im.pix = nil
}

// Bounds is the image rectangle, origin top-left, in pixels.
func (im *Image) Bounds() image.Rectangle { return image.Rect(0, 0, im.w, im.h) }

// Depth is the number of bits per pixel (1, 8, 32, …).
func (im *Image) Depth() int { return im.depth }

// DPI is the image resolution in pixels per inch (0 when unknown).
func (im *Image) DPI() int { return im.dpi }

// SetDPI records the image resolution.
func (im *Image) SetDPI(dpi int) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed || dpi <= 0 {
		return
	}
	C.eo_pix_set_res(im.pix, C.int(dpi))
	im.dpi = dpi
}

// use runs f with the Leptonica image while holding the image's lock.
func (im *Image) use(f func(*C.eo_pix) error) error {
	if im == nil {
		return errors.New("nil image")
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return errors.New("image is closed")
	}
	err := f(im.pix)
	runtime.KeepAlive(im)
	return err
}

// Rotate returns a copy turned clockwise by quarters × 90°.
func (im *Image) Rotate(quarters int) (*Image, error) {
	var out *Image
	err := im.use(func(p *C.eo_pix) error {
		r := C.eo_pix_rotate(p, C.int(quarters))
		if r == nil {
			return fmt.Errorf("rotate by %d×90°: leptonica failed", quarters)
		}
		out = wrap(r)
		return nil
	})
	return out, err
}

// Scale returns a copy resized by factor (e.g. 2 doubles width and height); the resolution
// scales with it.
func (im *Image) Scale(factor float64) (*Image, error) {
	if factor <= 0 || factor > 16 {
		return nil, fmt.Errorf("scale by %g: out of range", factor)
	}
	var out *Image
	err := im.use(func(p *C.eo_pix) error {
		r := C.eo_pix_scale(p, C.float(factor))
		if r == nil {
			return fmt.Errorf("scale by %g: leptonica failed", factor)
		}
		out = wrap(r)
		return nil
	})
	return out, err
}

// RotateAngle returns a copy turned by deg degrees about its centre, clockwise positive, of
// the same size, with white brought in at the corners.
func (im *Image) RotateAngle(deg float64) (*Image, error) {
	var out *Image
	err := im.use(func(p *C.eo_pix) error {
		r := C.eo_pix_rotate_angle(p, C.float(deg))
		if r == nil {
			return fmt.Errorf("rotate by %g°: leptonica failed", deg)
		}
		out = wrap(r)
		return nil
	})
	if err == nil && out.dpi <= 0 && im.dpi > 0 {
		out.SetDPI(im.dpi)
	}
	return out, err
}

// Deskew measures the slant of the text lines (Leptonica's skew search, ±7°) and returns a
// copy turned straight, with the rotation applied in degrees (clockwise positive, as in
// RotateAngle). When no skew is found, or it is below 0.05°, the copy is unturned and the
// angle 0.
func (im *Image) Deskew() (*Image, float64, error) {
	var out *Image
	var angle float64
	err := im.use(func(p *C.eo_pix) error {
		var a, c C.float
		r := C.eo_pix_deskew(p, &a, &c)
		if r == nil {
			return errors.New("deskew: leptonica failed")
		}
		out, angle = wrap(r), float64(a)
		return nil
	})
	if err == nil && out.dpi <= 0 && im.dpi > 0 {
		out.SetDPI(im.dpi)
	}
	return out, angle, err
}

// Crop returns the part of the image inside r (clipped to the image), with a white margin of
// border pixels around it (0 for none).
func (im *Image) Crop(r image.Rectangle, border int) (*Image, error) {
	r = r.Intersect(im.Bounds())
	if r.Empty() {
		return nil, fmt.Errorf("crop %v: outside the %dx%d image", r, im.w, im.h)
	}
	var out *Image
	err := im.use(func(p *C.eo_pix) error {
		c := C.eo_pix_crop(p, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()), C.int(border))
		if c == nil {
			return fmt.Errorf("crop %v: leptonica failed", r)
		}
		out = wrap(c)
		return nil
	})
	if err == nil && out.dpi <= 0 && im.dpi > 0 {
		out.SetDPI(im.dpi)
	}
	return out, err
}

// Format names an encoding for Encode.
type Format string

// Encodings Encode can write.
const (
	PNG  Format = "png"
	JPEG Format = "jpeg"
	PNM  Format = "pnm"
)

// Leptonica's IFF_* constants (imageio.h).
var iff = map[Format]C.int{PNG: 3, JPEG: 2, PNM: 11}

// Encode writes the image in the given format.
func (im *Image) Encode(f Format) ([]byte, error) {
	code, ok := iff[f]
	if !ok {
		return nil, fmt.Errorf("encode: unknown format %q", f)
	}
	var out []byte
	err := im.use(func(p *C.eo_pix) error {
		var data *C.uchar
		var n C.size_t
		if C.eo_pix_write(p, code, &data, &n) != 0 {
			return fmt.Errorf("encode %s: leptonica failed", f)
		}
		out = C.GoBytes(unsafe.Pointer(data), C.int(n))
		C.eo_free(unsafe.Pointer(data))
		return nil
	})
	return out, err
}

// Ink is the fraction of dark pixels (grey value below 128), 0–1: about 0 for a blank page,
// a few percent for text, high for photographs and noise.
func (im *Image) Ink() (float64, error) {
	var v float64
	err := im.use(func(p *C.eo_pix) error {
		v = float64(C.eo_pix_ink(p))
		if v < 0 {
			return errors.New("ink: leptonica failed")
		}
		return nil
	})
	return v, err
}

// FromImage converts a Go image (e.g. a MuPDF render) for Tesseract. Grey images stay grey,
// everything else becomes RGB. dpi is the image resolution (0 when unknown).
func FromImage(src image.Image, dpi int) (*Image, error) {
	b := src.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("from image: %w: empty raster", ErrUnreadable)
	}
	w, h := b.Dx(), b.Dy()
	var buf []byte
	switch g := src.(type) {
	case *image.Gray:
		buf = fmt.Appendf(make([]byte, 0, w*h+32), "P5\n%d %d\n255\n", w, h)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			i := g.PixOffset(b.Min.X, y)
			buf = append(buf, g.Pix[i:i+w]...)
		}
	case *image.RGBA:
		buf = fmt.Appendf(make([]byte, 0, 3*w*h+32), "P6\n%d %d\n255\n", w, h)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := g.Pix[g.PixOffset(b.Min.X, y):]
			for x := 0; x < w; x++ {
				buf = append(buf, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.YCbCr:
		buf = fmt.Appendf(make([]byte, 0, 3*w*h+32), "P6\n%d %d\n255\n", w, h)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := g.YOffset(x, y), g.COffset(x, y)
				r, gr, bl := color.YCbCrToRGB(g.Y[yi], g.Cb[ci], g.Cr[ci])
				buf = append(buf, r, gr, bl)
			}
		}
	default:
		buf = fmt.Appendf(make([]byte, 0, 3*w*h+32), "P6\n%d %d\n255\n", w, h)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := src.At(x, y).RGBA()
				buf = append(buf, byte(r>>8), byte(g>>8), byte(bl>>8))
			}
		}
	}
	return DecodeImage(buf, dpi)
}
