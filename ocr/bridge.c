#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leptonica/allheaders.h>
#include <tesseract/capi.h>

// libgomp comes in through libtesseract; a weak reference finds it when it is there.
extern int omp_get_thread_limit(void) __attribute__((weak));

struct eo_analyser {
  TessBaseAPI *api;
  int has_osd;
};

eo_pix *eo_pix_read(const unsigned char *data, size_t size) {
  static int quiet = 0;
  if (!quiet) {
    // Leptonica's informational messages ("rotate by shear") are not for our users.
    setMsgSeverity(L_SEVERITY_WARNING);
    quiet = 1;
  }
  if (data == NULL || size == 0) return NULL;
  return pixReadMem(data, size);
}

void eo_pix_free(eo_pix *pix) {
  if (pix != NULL) pixDestroy(&pix);
}

void eo_pix_info(eo_pix *pix, int *w, int *h, int *depth, int *xres) {
  *w = pixGetWidth(pix);
  *h = pixGetHeight(pix);
  *depth = pixGetDepth(pix);
  *xres = pixGetXRes(pix);
}

void eo_pix_set_res(eo_pix *pix, int res) { pixSetResolution(pix, res, res); }

eo_pix *eo_pix_rotate(eo_pix *pix, int quads) {
  quads = ((quads % 4) + 4) % 4;
  if (quads == 0) return pixClone(pix);
  return pixRotateOrth(pix, quads);
}

eo_pix *eo_pix_scale(eo_pix *pix, float factor) {
  PIX *src = pix;
  if (pixGetColormap(pix) != NULL) {
    src = pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC);
    if (src == NULL) return NULL;
  } else {
    src = pixClone(pix);
  }
  PIX *out = pixScale(src, factor, factor);
  pixDestroy(&src);
  if (out != NULL) {
    int res = pixGetXRes(pix);
    if (res > 0) pixSetResolution(out, (int)(res * factor + 0.5), (int)(res * factor + 0.5));
  }
  return out;
}

static PIX *no_cmap(PIX *pix) {
  if (pixGetColormap(pix) != NULL) return pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC);
  return pixClone(pix);
}

eo_pix *eo_pix_rotate_angle(eo_pix *pix, float deg) {
  PIX *src = no_cmap(pix);
  if (src == NULL) return NULL;
  PIX *out = pixRotate(src, deg * 3.14159265358979f / 180.0f, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
  pixDestroy(&src);
  return out;
}

eo_pix *eo_pix_deskew(eo_pix *pix, float *angle, float *conf) {
  *angle = 0;
  *conf = 0;
  PIX *src = no_cmap(pix);
  if (src == NULL) return NULL;
  float a = 0, c = 0;
  // Find the skew on a binarised copy, then turn the original pixels.
  PIX *bin = pixConvertTo1(src, 160);
  int found = bin != NULL && pixFindSkew(bin, &a, &c) == 0;
  pixDestroy(&bin);
  // Leptonica's minimum confidence for a skew measurement is 3.
  if (!found || c < 3.0f || (a < 0.05f && a > -0.05f)) {
    return src;
  }
  // pixFindSkew gives the angle the text lines make; turning by it makes them level.
  PIX *out = pixRotate(src, a * 3.14159265358979f / 180.0f, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
  pixDestroy(&src);
  if (out == NULL) return NULL;
  *angle = a;
  *conf = c;
  return out;
}

eo_pix *eo_pix_crop(eo_pix *pix, int x, int y, int w, int h, int border) {
  BOX *box = boxCreate(x, y, w, h);
  if (box == NULL) return NULL;
  PIX *c = pixClipRectangle(pix, box, NULL);
  boxDestroy(&box);
  if (c == NULL || border <= 0) return c;
  // A white margin helps recognition of tightly cropped text.
  PIX *src = c;
  if (pixGetColormap(c) != NULL) {
    src = pixRemoveColormap(c, REMOVE_CMAP_BASED_ON_SRC);
    pixDestroy(&c);
    if (src == NULL) return NULL;
  }
  l_uint32 white = 0;
  int d = pixGetDepth(src);
  if (d == 1) {
    white = 0;  // 0 is white in 1 bpp images
  } else if (d == 32) {
    white = 0xffffff00;
  } else {
    white = (1u << d) - 1;
  }
  PIX *b = pixAddBorder(src, border, white);
  pixDestroy(&src);
  return b;
}

int eo_pix_write(eo_pix *pix, int format, unsigned char **out, size_t *size) {
  *out = NULL;
  *size = 0;
  PIX *src = pix;
  if (pixGetColormap(pix) != NULL) {
    src = pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC);
    if (src == NULL) return -1;
  } else {
    src = pixClone(pix);
  }
  l_uint8 *data = NULL;
  size_t n = 0;
  int rc = pixWriteMem(&data, &n, src, format);
  pixDestroy(&src);
  if (rc != 0 || data == NULL) return -1;
  *out = data;
  *size = n;
  return 0;
}

double eo_pix_ink(eo_pix *pix) {
  PIX *g = pixConvertTo8(pix, 0);
  if (g == NULL) return -1;
  int w = pixGetWidth(g), h = pixGetHeight(g);
  long dark = 0;
  l_uint32 *data = pixGetData(g);
  int wpl = pixGetWpl(g);
  for (int y = 0; y < h; y++) {
    l_uint32 *line = data + (size_t)y * wpl;
    for (int x = 0; x < w; x++) {
      if (GET_DATA_BYTE(line, x) < 128) dark++;
    }
  }
  pixDestroy(&g);
  if (w == 0 || h == 0) return 0;
  return (double)dark / ((double)w * (double)h);
}

void eo_free(void *p) { free(p); }

eo_analyser *eo_analyser_new(const char *datapath, int want_osd, int *has_osd, char *err,
                             int errlen) {
  eo_analyser *a = calloc(1, sizeof(eo_analyser));
  if (a == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  a->api = TessBaseAPICreate();
  if (a->api == NULL) {
    free(a);
    snprintf(err, errlen, "TessBaseAPICreate failed");
    return NULL;
  }
  *has_osd = 0;
  if (want_osd) {
    if (TessBaseAPIInit3(a->api, datapath, "osd") == 0) {
      *has_osd = 1;
    } else {
      TessBaseAPIEnd(a->api);
    }
  }
  if (!*has_osd) {
    TessBaseAPIInitForAnalysePage(a->api);
  }
  a->has_osd = *has_osd;
  TessBaseAPISetVariable(a->api, "debug_file", "/dev/null");
  return a;
}

void eo_analyser_free(eo_analyser *a) {
  if (a == NULL) return;
  TessBaseAPIEnd(a->api);
  TessBaseAPIDelete(a->api);
  free(a);
}

int eo_layout(eo_analyser *a, eo_pix *pix, int psm, eo_layout_rec **out) {
  *out = NULL;
  TessBaseAPISetPageSegMode(a->api, (TessPageSegMode)psm);
  TessBaseAPISetImage2(a->api, pix);
  TessPageIterator *it = TessBaseAPIAnalyseLayout(a->api);
  if (it == NULL) {
    TessBaseAPIClear(a->api);
    return 0;  // nothing found on the page
  }
  int cap = 64, n = 0;
  eo_layout_rec *recs = malloc(sizeof(eo_layout_rec) * cap);
  if (recs == NULL) {
    TessPageIteratorDelete(it);
    TessBaseAPIClear(a->api);
    return -1;
  }
  TessPageIteratorBegin(it);
  do {
    if (n == cap) {
      cap *= 2;
      eo_layout_rec *r = realloc(recs, sizeof(eo_layout_rec) * cap);
      if (r == NULL) {
        free(recs);
        TessPageIteratorDelete(it);
        TessBaseAPIClear(a->api);
        return -1;
      }
      recs = r;
    }
    eo_layout_rec *r = &recs[n];
    memset(r, 0, sizeof(*r));
    r->block_start = TessPageIteratorIsAtBeginningOf(it, RIL_BLOCK) ? 1 : 0;
    r->block_type = (int)TessPageIteratorBlockType(it);
    if (!TessPageIteratorBoundingBox(it, RIL_BLOCK, &r->bl, &r->bt, &r->br, &r->bb)) continue;
    r->has_line = TessPageIteratorBoundingBox(it, RIL_TEXTLINE, &r->ll, &r->lt, &r->lr, &r->lb) ? 1 : 0;
    n++;
  } while (TessPageIteratorNext(it, RIL_TEXTLINE));
  TessPageIteratorDelete(it);
  TessBaseAPIClear(a->api);
  *out = recs;
  return n;
}

int eo_osd(eo_analyser *a, eo_pix *pix, int *deg, float *orient_conf, char *script,
           int scriptlen, float *script_conf) {
  if (!a->has_osd) return -2;
  TessBaseAPISetPageSegMode(a->api, PSM_OSD_ONLY);
  TessBaseAPISetImage2(a->api, pix);
  const char *name = NULL;
  BOOL ok = TessBaseAPIDetectOrientationScript(a->api, deg, orient_conf, &name, script_conf);
  if (name != NULL) {
    // name points into the OSD model's character set: it is not ours to free, whatever
    // capi.h says.
    snprintf(script, scriptlen, "%s", name);
  } else if (scriptlen > 0) {
    script[0] = 0;
  }
  TessBaseAPIClear(a->api);
  return ok ? 0 : -1;
}

int eo_thread_limit(void) {
  if (omp_get_thread_limit == NULL) return 0;
  return omp_get_thread_limit();
}

const char *eo_default_datapath(void) {
  static char path[4096];
  TessBaseAPI *api = TessBaseAPICreate();
  path[0] = 0;
  if (api == NULL) return path;
  TessBaseAPISetVariable(api, "debug_file", "/dev/null");
  // The path is only known after an Init; the small osd model is the cheapest to load.
  if (TessBaseAPIInit3(api, NULL, "osd") == 0 || TessBaseAPIInit3(api, NULL, "eng") == 0) {
    const char *p = TessBaseAPIGetDatapath(api);
    if (p != NULL) snprintf(path, sizeof(path), "%s", p);
  }
  TessBaseAPIEnd(api);
  TessBaseAPIDelete(api);
  return path;
}
