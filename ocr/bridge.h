// Small C bridge to Leptonica and the Tesseract C API for what gosseract does not expose:
// decoding image bytes into a Pix, orthogonal rotation, cropping, re-encoding, layout analysis
// with block types, and orientation detection.
#ifndef EOSIN_OCR_BRIDGE_H
#define EOSIN_OCR_BRIDGE_H

#include <stddef.h>

typedef struct Pix eo_pix;

// Image handling (Leptonica).
eo_pix *eo_pix_read(const unsigned char *data, size_t size);
void eo_pix_free(eo_pix *pix);
void eo_pix_info(eo_pix *pix, int *w, int *h, int *depth, int *xres);
void eo_pix_set_res(eo_pix *pix, int res);
eo_pix *eo_pix_rotate(eo_pix *pix, int quads);
eo_pix *eo_pix_scale(eo_pix *pix, float factor);
// eo_pix_rotate_angle turns the image by deg degrees about its centre (clockwise positive),
// keeping its size and bringing in white.
eo_pix *eo_pix_rotate_angle(eo_pix *pix, float deg);
// eo_pix_deskew finds the skew of text lines and returns the image turned straight;
// *angle is the rotation applied (degrees, clockwise positive), *conf the confidence.
eo_pix *eo_pix_deskew(eo_pix *pix, float *angle, float *conf);
eo_pix *eo_pix_crop(eo_pix *pix, int x, int y, int w, int h, int border);
// eo_pix_write encodes the image (format: Leptonica IFF_*); free *out with eo_free.
int eo_pix_write(eo_pix *pix, int format, unsigned char **out, size_t *size);
// eo_pix_ink returns the fraction of dark pixels (after conversion to 8 bpp, < 128).
double eo_pix_ink(eo_pix *pix);
void eo_free(void *p);

// Analysis engine (Tesseract C API).
typedef struct eo_analyser eo_analyser;
// eo_analyser_new initialises an engine for layout analysis and, when the language "osd" is
// available under datapath, orientation detection. *has_osd tells which.
eo_analyser *eo_analyser_new(const char *datapath, int want_osd, int *has_osd, char *err, int errlen);
void eo_analyser_free(eo_analyser *a);

// eo_layout_rec is one element of a layout: a text line, or a whole non-text block.
typedef struct {
  int block_start;  // 1 when this element opens a new block
  int block_type;   // TessPolyBlockType
  int bl, bt, br, bb;  // block box
  int ll, lt, lr, lb;  // line box (the block box for non-text blocks)
  int has_line;
} eo_layout_rec;

// eo_layout runs layout analysis only (no recognition) with the given page segmentation mode.
// It returns the number of records written to *out (free with eo_free), or -1.
int eo_layout(eo_analyser *a, eo_pix *pix, int psm, eo_layout_rec **out);

// eo_osd detects orientation and script. deg is the clockwise rotation of the input image
// that makes it upright... see ocr.Orientation for the convention used in Go.
int eo_osd(eo_analyser *a, eo_pix *pix, int *deg, float *orient_conf, char *script,
           int scriptlen, float *script_conf);

// eo_default_datapath is Tesseract's compiled-in model directory.
const char *eo_default_datapath(void);

// eo_thread_limit reports OpenMP's thread limit (0 when Tesseract runs without OpenMP).
int eo_thread_limit(void);

#endif
