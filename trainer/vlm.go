package trainer

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // figure images are PNG or JPEG
	_ "image/png"
	"os"
	"strings"

	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/vision"
)

// TaskImages decodes a task's images (PNG or JPEG; Bytes, else read from Path) to RGB.
func TaskImages(task Task) ([]vision.RGB8, error) {
	var out []vision.RGB8
	for i, im := range task.Images {
		b := im.Bytes
		if b == nil {
			var err error
			if b, err = os.ReadFile(im.Path); err != nil {
				return nil, fmt.Errorf("task %s image %d: %w", task.ID, i, err)
			}
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("task %s image %d: %w", task.ID, i, err)
		}
		out = append(out, vision.ToRGB8(img))
	}
	return out, nil
}

// WithImages puts one image placeholder per image at the start of the first user turn of a
// rendered chat prompt (Qwen's order for [image, text] content), unless the prompt already
// holds placeholders; without a user turn they go first.
func WithImages(prompt string, n int) string {
	if n == 0 || strings.Contains(prompt, vision.ImagePad) {
		return prompt
	}
	ph := strings.Repeat(vision.ImagePlaceholder, n)
	const user = "<|im_start|>user\n"
	if i := strings.Index(prompt, user); i >= 0 {
		return prompt[:i+len(user)] + ph + prompt[i+len(user):]
	}
	return ph + prompt
}

// imageInput builds a task's prompt for a policy that reads images: the task's images
// preprocessed by proc (rounded to bf16 in mixed precision, as the model's input dtype) and
// the prompt ids with one placeholder per image expanded to its merged-token count.
func imageInput(codec Codec, proc vision.Processor, task Task, bf16 bool) (Prompt, error) {
	imgs, err := TaskImages(task)
	if err != nil {
		return Prompt{}, err
	}
	var in Prompt
	for i, im := range imgs {
		px, g, err := proc.Preprocess(im)
		if err != nil {
			return in, fmt.Errorf("task %s image %d: %w", task.ID, i, err)
		}
		in.Pixels = append(in.Pixels, px...)
		in.Grids = append(in.Grids, g)
	}
	if bf16 {
		model.RoundBF16Slice(in.Pixels)
	}
	text, err := vision.ExpandImageText(WithImages(codec.Prompt(task), len(imgs)), in.Grids)
	if err != nil {
		return in, fmt.Errorf("task %s: %w", task.ID, err)
	}
	if in.IDs, err = codec.Encode(text); err != nil {
		return in, fmt.Errorf("task %s: %w", task.ID, err)
	}
	return in, nil
}
