package ocr

import (
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"
)

// ParseHOCR reads Tesseract's hOCR output into blocks, lines and words with their boxes and
// confidences. Text blocks get their type from the line classes Tesseract writes
// (ocr_caption → caption, ocr_header → heading, ocr_textfloat → pull-out); hOCR has no
// non-text blocks, see Engine.Recognize for those.
func ParseHOCR(r io.Reader) (*Page, error) {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity

	p := &Page{}
	type frame struct {
		class string
	}
	var stack []frame
	var block *Block
	var line *Line
	var word *Word
	var text strings.Builder

	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("hocr: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			class, title := "", ""
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "class":
					class = a.Value
				case "title":
					title = a.Value
				}
			}
			stack = append(stack, frame{class: class})
			box, _ := titleBox(title)
			switch class {
			case "ocr_page":
				p.Width, p.Height = box.Max.X, box.Max.Y
			case "ocr_carea", "ocr_photo", "ocr_separator":
				p.Blocks = append(p.Blocks, Block{Type: BlockText, Box: box})
				block = &p.Blocks[len(p.Blocks)-1]
				switch class {
				case "ocr_photo":
					block.Type = BlockImage
				case "ocr_separator":
					block.Type = BlockHLine
					if box.Dy() > box.Dx() {
						block.Type = BlockVLine
					}
				}
			case "ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat":
				if block == nil {
					p.Blocks = append(p.Blocks, Block{Type: BlockText, Box: box})
					block = &p.Blocks[len(p.Blocks)-1]
				}
				switch class {
				case "ocr_caption":
					block.Type = BlockCaption
				case "ocr_header":
					block.Type = BlockHeading
				case "ocr_textfloat":
					block.Type = BlockPullout
				}
				block.Lines = append(block.Lines, Line{Box: box})
				line = &block.Lines[len(block.Lines)-1]
			case "ocrx_word":
				if line == nil {
					continue
				}
				line.Words = append(line.Words, Word{Box: box, Confidence: titleFloat(title, "x_wconf")})
				word = &line.Words[len(line.Words)-1]
				text.Reset()
			}
		case xml.CharData:
			if word != nil {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch f.class {
			case "ocrx_word":
				if word != nil {
					word.Text = strings.TrimSpace(text.String())
					word = nil
				}
			case "ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat":
				if line != nil {
					finishLine(line)
				}
				line = nil
			case "ocr_carea", "ocr_photo", "ocr_separator":
				if block != nil {
					finishBlock(block)
				}
				block, line = nil, nil
			}
		}
	}
	// Drop words that came out empty, and blocks without content in text areas.
	for i := range p.Blocks {
		finishBlock(&p.Blocks[i])
	}
	return p, nil
}

func finishLine(l *Line) {
	ws := l.Words[:0]
	for _, w := range l.Words {
		if w.Text != "" {
			ws = append(ws, w)
		}
	}
	l.Words = ws
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Text
	}
	l.Text = strings.Join(parts, " ")
	l.Confidence = meanConf(ws)
}

func finishBlock(b *Block) {
	var ws []Word
	lines := b.Lines[:0]
	for _, l := range b.Lines {
		finishLine(&l)
		if len(l.Words) > 0 {
			lines = append(lines, l)
			ws = append(ws, l.Words...)
		}
	}
	b.Lines = lines
	b.Confidence = meanConf(ws)
}

// titleBox reads "bbox x0 y0 x1 y1" from an hOCR title attribute.
func titleBox(title string) (image.Rectangle, bool) {
	for _, prop := range strings.Split(title, ";") {
		f := strings.Fields(prop)
		if len(f) == 5 && f[0] == "bbox" {
			var v [4]int
			for i := range v {
				n, err := strconv.Atoi(f[i+1])
				if err != nil {
					return image.Rectangle{}, false
				}
				v[i] = n
			}
			return image.Rect(v[0], v[1], v[2], v[3]), true
		}
	}
	return image.Rectangle{}, false
}

// titleFloat reads a numeric property such as "x_wconf 91".
func titleFloat(title, key string) float64 {
	for _, prop := range strings.Split(title, ";") {
		f := strings.Fields(prop)
		if len(f) == 2 && f[0] == key {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				return v
			}
		}
	}
	return 0
}
