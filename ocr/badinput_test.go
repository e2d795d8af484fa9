package ocr

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("this is not an image at all, just some bytes")},
		{"truncated jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0}},
		{"truncated png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := DecodeImage(tt.data, 0)
			if err == nil {
				img.Close()
				t.Fatal("decoded without error")
			}
			if !errors.Is(err, ErrUnreadable) {
				t.Errorf("error %v is not ErrUnreadable", err)
			}
		})
	}
}

func TestBlankAndNoise(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 850, 1100))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	noise := image.NewGray(image.Rect(0, 0, 850, 1100))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
	}
	tests := []struct {
		name     string
		img      *image.Gray
		maxWords int
	}{
		{"blank", blank, 0},
		{"noise", noise, 30},
	}
	pool := sharedPool(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := FromImage(tt.img, 100)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			ink, _ := img.Ink()
			err = pool.Do(ctx, func(e *Engine) error {
				lp, err := e.Layout(ctx, img, PSMAuto)
				if err != nil {
					return err
				}
				p, err := e.Recognize(ctx, img, PSMAuto, false)
				if err != nil {
					return err
				}
				_, oerr := e.DetectOrientation(ctx, img)
				t.Logf("%s: ink %.2f, %d layout blocks, %d words, mean conf %.1f, orientation error: %v",
					tt.name, ink, len(lp.Blocks), len(p.Words()), p.MeanConfidence(), oerr)
				if n := len(p.Words()); n > tt.maxWords {
					t.Errorf("%d words recognised, want ≤ %d", n, tt.maxWords)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := FromImage(image.NewGray(image.Rectangle{}), 0); err == nil {
		t.Error("empty Go image accepted")
	}
	_ = color.White
}

func TestPoolConfig(t *testing.T) {
	if _, err := NewPool(Config{Languages: []string{"xx-no-such"}}); err == nil {
		t.Error("missing language accepted")
	}
	if _, err := NewPool(Config{Languages: []string{"eng"}, TessdataPrefix: t.TempDir()}); err == nil {
		t.Error("empty tessdata directory accepted")
	}
	p, err := NewPool(Config{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Do(ctx, func(*Engine) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a cancelled context: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}
