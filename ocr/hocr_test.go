package ocr

import (
	"image"
	"strings"
	"testing"
)

const sampleHOCR = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <body>
  <div class='ocr_page' id='page_1' title='image "x"; bbox 0 0 640 480; ppageno 0; scan_res 300 300'>
   <div class='ocr_photo' id='block_1_1' title="bbox 10 10 300 200"></div>
   <div class='ocr_separator' id='block_1_2' title="bbox 320 10 324 400"></div>
   <div class='ocr_carea' id='block_1_3' title="bbox 36 220 618 300">
    <p class='ocr_par' id='par_1_1' lang='eng' title="bbox 36 220 618 300">
     <span class='ocr_caption' id='line_1_1' title="bbox 36 220 580 250; baseline 0 -7; x_size 30">
      <span class='ocrx_word' id='word_1_1' title='bbox 36 220 96 244; x_wconf 91'>Figure</span>
      <span class='ocrx_word' id='word_1_2' title='bbox 110 220 140 244; x_wconf 80'>3.</span>
      <span class='ocrx_word' id='word_1_3' title='bbox 150 220 240 244; x_wconf 70'>A&amp;B&#39;s</span>
     </span>
     <span class='ocr_line' id='line_1_2' title="bbox 36 260 580 290; baseline 0 -7">
      <span class='ocrx_word' id='word_1_4' title='bbox 36 260 96 284; x_wconf 60'> </span>
      <span class='ocrx_word' id='word_1_5' title='bbox 100 260 196 284; x_wconf 50'><strong>bold</strong></span>
     </span>
    </p>
   </div>
  </div>
 </body>
</html>`

func TestParseHOCR(t *testing.T) {
	p, err := ParseHOCR(strings.NewReader(sampleHOCR))
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 640 || p.Height != 480 {
		t.Errorf("page size %dx%d", p.Width, p.Height)
	}
	if len(p.Blocks) != 3 {
		t.Fatalf("%d blocks, want 3", len(p.Blocks))
	}
	tests := []struct {
		typ   BlockType
		box   image.Rectangle
		text  string
		conf  float64
		lines int
	}{
		{BlockImage, image.Rect(10, 10, 300, 200), "", 0, 0},
		{BlockVLine, image.Rect(320, 10, 324, 400), "", 0, 0},
		{BlockCaption, image.Rect(36, 220, 618, 300), "Figure 3. A&B's\nbold", (91 + 80 + 70 + 50) / 4.0, 2},
	}
	for i, tt := range tests {
		b := p.Blocks[i]
		if b.Type != tt.typ || b.Box != tt.box || b.Text() != tt.text || b.Confidence != tt.conf || len(b.Lines) != tt.lines {
			t.Errorf("block %d = %s %v %q %.2f %d lines, want %s %v %q %.2f %d", i, b.Type, b.Box, b.Text(), b.Confidence, len(b.Lines), tt.typ, tt.box, tt.text, tt.conf, tt.lines)
		}
	}
	if w := p.Words(); len(w) != 4 || w[2].Box != image.Rect(150, 220, 240, 244) || w[2].Confidence != 70 {
		t.Errorf("words = %+v", w)
	}
}

func FuzzParseHOCR(f *testing.F) {
	f.Add(sampleHOCR)
	f.Add(`<div class='ocr_line'><span class='ocrx_word' title='bbox 1 2 3'>x</span>`)
	f.Add(`<span class='ocrx_word'><span class='ocr_carea'>`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseHOCR(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, b := range p.Blocks {
			for _, l := range b.Lines {
				if len(l.Words) == 0 {
					t.Errorf("empty line kept: %+v", l)
				}
			}
		}
		_ = p.Text()
	})
}
