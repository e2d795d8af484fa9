package ocr

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testPoolOnce sync.Once
	testPool     *Pool
	testPoolErr  error
)

// sharedPool is one pool for the package's tests: engines load their models once.
func sharedPool(t testing.TB) *Pool {
	t.Helper()
	testPoolOnce.Do(func() { testPool, testPoolErr = NewPool(Config{Size: 2}) })
	if testPoolErr != nil {
		t.Fatal(testPoolErr)
	}
	return testPool
}

func loadImage(t testing.TB, rel string) *Image {
	t.Helper()
	data, err := os.ReadFile(sharedData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeImage(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(img.Close)
	return img
}

// TestAccuracy measures the character error rate on Tesseract's labelled test pages, upright
// and turned by 90/180/270 degrees (turned back by orientation detection).
func TestAccuracy(t *testing.T) {
	if got := ThreadLimit(); got != 1 {
		t.Errorf("OpenMP thread limit = %d, want 1", got)
	}
	tests := []struct {
		name   string
		maxCER float64
		turns  bool // also test the rotated copies
	}{
		{"phototest", 0.01, true},
		{"eurotext", 0.05, true},
		{"8087_054.3B", 0.10, false},
		{"8071_093.3B", 0.12, false},
	}
	pool := sharedPool(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := loadImage(t, "tesseract-testing/"+tt.name+".tif")
			ref, err := os.ReadFile(sharedData(t, "tesseract-testing/"+tt.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			var upright string
			err = pool.Do(ctx, func(e *Engine) error {
				start := time.Now()
				p, err := e.Recognize(ctx, img, PSMAuto, tt.name == "8087_054.3B")
				if err != nil {
					return err
				}
				upright = p.Text()
				if tt.name == "8087_054.3B" {
					checkMagazineLayout(t, p)
				}
				c := cer(string(ref), upright)
				t.Logf("%s: CER %.4f (%d ref chars, mean conf %.1f, %v)", tt.name, c,
					len([]rune(normText(string(ref)))), p.MeanConfidence(), time.Since(start).Round(time.Millisecond))
				if c > tt.maxCER {
					t.Errorf("%s: CER %.4f > %.2f", tt.name, c, tt.maxCER)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.turns {
				// Full pages take seconds to read: check that orientation detection turns
				// them back to exactly the upright pixels, from which the same text follows.
				want, err := img.Encode(PNM)
				if err != nil {
					t.Fatal(err)
				}
				for q := 1; q <= 3; q++ {
					turned, err := img.Rotate(q)
					if err != nil {
						t.Fatal(err)
					}
					err = pool.Do(ctx, func(e *Engine) error {
						up, o, err := e.Upright(ctx, turned, 1)
						if err != nil {
							return err
						}
						got, err := up.Encode(PNM)
						if err != nil {
							return err
						}
						t.Logf("%s turned %d°: rotate %d° (conf %.1f), upright pixels restored: %v", tt.name, q*90, o.Rotate, o.Confidence, string(got) == string(want))
						if string(got) != string(want) {
							t.Errorf("%s turned %d°: orientation says rotate %d° (conf %.1f); the result is not the upright page", tt.name, q*90, o.Rotate, o.Confidence)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			for q := 1; q <= 3 && tt.turns; q++ {
				turned, err := img.Rotate(q)
				if err != nil {
					t.Fatal(err)
				}
				err = pool.Do(ctx, func(e *Engine) error {
					up, o, err := e.Upright(ctx, turned, 1)
					if err != nil {
						return err
					}
					if o.Rotate != (4-q)%4*90 {
						t.Errorf("%s turned %d°: orientation says rotate %d° (conf %.1f), want %d°", tt.name, q*90, o.Rotate, o.Confidence, (4-q)%4*90)
					}
					p, err := e.Recognize(ctx, up, PSMAuto, false)
					if err != nil {
						return err
					}
					if d := cer(upright, p.Text()); d > 0.01 {
						t.Errorf("%s turned %d°: text differs from upright by %.4f:\n%s", tt.name, q*90, d, p.Text())
					} else {
						t.Logf("%s turned %d°: rotate %d° (conf %.1f), difference to upright %.4f", tt.name, q*90, o.Rotate, o.Confidence, d)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// checkMagazineLayout checks the block types of 8087_054.3B, a magazine page with a photograph
// captioned "THE TERRA-COTTA ROOFS OF DUBROVNIK, …" below it, a rule under the header, and two
// text columns.
func checkMagazineLayout(t *testing.T, p *Page) {
	t.Helper()
	var photo, caption *Block
	counts := map[BlockType]int{}
	for i := range p.Blocks {
		b := &p.Blocks[i]
		counts[b.Type]++
		if b.Type.IsImage() && b.Box.Dx() > 500 && (photo == nil || b.Box.Dx()*b.Box.Dy() > photo.Box.Dx()*photo.Box.Dy()) {
			photo = b
		}
		if strings.Contains(strings.ToUpper(b.Text()), "TERRA-COTTA") {
			caption = b
		}
	}
	t.Logf("8087_054.3B blocks: %v", counts)
	if photo == nil {
		t.Fatal("no image block found for the photograph")
	}
	if caption == nil {
		t.Fatal("caption text not found")
	}
	if caption.Type != BlockCaption {
		t.Errorf("caption block has type %s, want caption", caption.Type)
	}
	if caption.Box.Min.Y < photo.Box.Max.Y || caption.Box.Min.Y-photo.Box.Max.Y > 200 {
		t.Errorf("caption %v is not just below the photograph %v", caption.Box, photo.Box)
	}
	if counts[BlockHLine]+counts[BlockVLine] == 0 {
		t.Error("no separator found (the header rule)")
	}
	if counts[BlockText] < 2 {
		t.Errorf("%d text blocks, want the two columns", counts[BlockText])
	}
}
