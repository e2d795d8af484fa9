package vision

import (
	"fmt"
	"strings"
)

// Qwen2-VL special tokens (also in every Qwen2.5 tokenizer).
const (
	VisionStart = "<|vision_start|>"
	VisionEnd   = "<|vision_end|>"
	ImagePad    = "<|image_pad|>"
	// ImagePlaceholder is what the chat template writes for one image part.
	ImagePlaceholder = VisionStart + ImagePad + VisionEnd
)

// ExpandImageText replaces the k-th <|image_pad|> of text by grids[k].Tokens() copies, as the
// Qwen2-VL processor does before tokenising. The number of pads must equal len(grids).
func ExpandImageText(text string, grids []Grid) (string, error) {
	parts := strings.Split(text, ImagePad)
	if len(parts)-1 != len(grids) {
		return "", fmt.Errorf("expand images: %d %s in the text for %d images", len(parts)-1, ImagePad, len(grids))
	}
	var sb strings.Builder
	sb.WriteString(parts[0])
	for k, g := range grids {
		sb.WriteString(strings.Repeat(ImagePad, g.Tokens()))
		sb.WriteString(parts[k+1])
	}
	return sb.String(), nil
}

// imageStarts finds the image runs as get_rope_index does: each <|vision_start|> followed by
// <|image_pad|> opens the next image, whose grids[k].Tokens() pads must follow.
func imageStarts(ids []int32, grids []Grid, imagePad, visionStart int32) ([]int, error) {
	var starts []int
	for i := 0; i+1 < len(ids); i++ {
		if ids[i] != visionStart || ids[i+1] != imagePad {
			continue
		}
		k := len(starts)
		if k >= len(grids) {
			return nil, fmt.Errorf("more images in the tokens than the %d given", len(grids))
		}
		n := grids[k].Tokens()
		if i+1+n > len(ids) {
			return nil, fmt.Errorf("image %d needs %d pads, %d tokens left", k, n, len(ids)-i-1)
		}
		for j := i + 1; j < i+1+n; j++ {
			if ids[j] != imagePad {
				return nil, fmt.Errorf("image %d needs %d pads, token %d at %d is not one", k, n, ids[j], j)
			}
		}
		starts = append(starts, i+1)
		i += n
	}
	if len(starts) != len(grids) {
		return nil, fmt.Errorf("%d images in the tokens for %d given", len(starts), len(grids))
	}
	return starts, nil
}

// ImageRows returns the rows of the images' <|image_pad|> tokens, image after image (the rows
// the merged features replace).
func ImageRows(ids []int32, grids []Grid, imagePad, visionStart int32) ([]int, error) {
	starts, err := imageStarts(ids, grids, imagePad, visionStart)
	if err != nil {
		return nil, fmt.Errorf("image rows: %w", err)
	}
	var r []int
	for k, s := range starts {
		for j := range grids[k].Tokens() {
			r = append(r, s+j)
		}
	}
	return r, nil
}

// RopeIndex computes the three M-RoPE position rows of one sequence (get_rope_index): text
// tokens continue from max(previous ids)+1 on all rows; an image's merged tokens (grid t,
// h/2, w/2; the run of pads after a <|vision_start|>) start at the position the next text
// token would have and add (frame·tScale, row, column); text after it resumes at the
// maximum + 1. It also returns rope_delta = max + 1 − len(ids), the decode offset.
func RopeIndex(ids []int32, grids []Grid, imagePad, visionStart int32, tScale int) ([3][]int32, int32, error) {
	var pos [3][]int32
	for k := range pos {
		pos[k] = make([]int32, len(ids))
	}
	starts, err := imageStarts(ids, grids, imagePad, visionStart)
	if err != nil {
		return pos, 0, fmt.Errorf("rope index: %w", err)
	}
	next := int32(0)
	img := 0
	for i := 0; i < len(ids); {
		if img >= len(starts) || i != starts[img] {
			for k := range pos {
				pos[k][i] = next
			}
			next++
			i++
			continue
		}
		g := grids[img]
		gh, gw := g.H/MergeSize, g.W/MergeSize
		base, mx := next, next
		j := i
		for t := 0; t < g.T; t++ {
			for y := 0; y < gh; y++ {
				for x := 0; x < gw; x++ {
					pos[0][j], pos[1][j], pos[2][j] = base+int32(t*tScale), base+int32(y), base+int32(x)
					mx = max(mx, pos[0][j], pos[1][j], pos[2][j])
					j++
				}
			}
		}
		next = mx + 1
		i = j
		img++
	}
	return pos, next - int32(len(ids)), nil
}
