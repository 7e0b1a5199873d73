package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/pipeline"
)

var imageExts = []string{".png", ".jpg", ".jpeg", ".tif", ".tiff"}

// expandInputs turns folders into their image files, in name order.
func expandInputs(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		n := len(files)
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
		if len(files) == n {
			return nil, fmt.Errorf("%s: no images (%s) in the folder", p, strings.Join(imageExts, ", "))
		}
	}
	return files, nil
}

// classMap turns a model's per-pixel output [H, W, C] into class ids.
func classMap(out []float32, pixels, channels int) []int32 {
	ids := make([]int32, pixels)
	for i := range ids {
		p := out[i*channels : (i+1)*channels]
		if channels == 1 {
			if p[0] > 0.5 {
				ids[i] = 1
			}
			continue
		}
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		ids[i] = int32(best)
	}
	return ids
}

// maskValue codes a class id as the masks the model was trained on did:
// 0/255 for a binary model, the listed value for classes.
func maskValue(dec *pipeline.Decode, id int32) uint8 {
	if len(dec.Classes) == 0 {
		return uint8(255 * id)
	}
	return uint8(dec.Classes[id])
}

// predictMasks writes one PNG mask per input image into outDir, at the
// image's own size.
func predictMasks(ld *modeldir.Loaded, r *infer.Runner, paths []string, outDir string) error {
	dec := ld.Meta.Decode
	files, err := expandInputs(paths)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	out := ld.Model.Output.Shape
	h, w, ch := out[0], out[1], out[2]
	for _, path := range files {
		img, srcH, srcW, err := dec.ReadImageSize(path)
		if err != nil {
			return err
		}
		if !slices.Equal(img.Shape, ld.Model.Input.Shape) {
			return fmt.Errorf("%s: image is %s after decoding, the model takes %s", path, dimsString(img.Shape), dimsString(ld.Model.Input.Shape))
		}
		probs, err := r.Predict(img.Data, 1)
		if err != nil {
			return err
		}
		ids := classMap(probs, h*w, ch)
		full := make([]int32, srcH*srcW)
		pipeline.ResizeLabels(full, srcH, srcW, ids, h, w)
		mask := image.NewGray(image.Rect(0, 0, srcW, srcH))
		for i, id := range full {
			mask.Pix[i] = maskValue(dec, id)
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ".png"
		if err := writePNG(filepath.Join(outDir, name), mask); err != nil {
			return err
		}
		fmt.Printf("%s\t%s\n", path, filepath.Join(outDir, name))
	}
	return nil
}

// writePreview draws up to eight rows of image | truth | prediction, as
// the course's plot_func does.
func writePreview(backend backends.Backend, ld *modeldir.Loaded, src datasets.Source, path string) error {
	r, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		return err
	}
	in := src.InputShape()
	h, w, cin := in[0], in[1], in[2]
	ch := ld.Model.Output.Shape[2]
	rows := min(8, src.Len())
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	canvas := image.NewRGBA(image.Rect(0, 0, 3*w+4, rows*(h+2)))
	scale := 1.0
	if s := ld.Meta.Decode.Scale; s > 0 {
		scale = s
	}
	for b, err := range src.Batches(0, order, rows) {
		if err != nil {
			return err
		}
		probs, err := r.Predict(b.X, b.N)
		if err != nil {
			return err
		}
		for k := 0; k < b.N; k++ {
			y0 := k * (h + 2)
			x := b.X[k*h*w*cin : (k+1)*h*w*cin]
			pred := classMap(probs[k*h*w*ch:(k+1)*h*w*ch], h*w, ch)
			truth := b.Y[k*h*w : (k+1)*h*w]
			for i := 0; i < h*w; i++ {
				py, px := y0+i/w, i%w
				v := func(c int) uint8 { return uint8(min(max(float64(x[i*cin+c])*scale, 0), 255)) }
				if cin >= 3 {
					canvas.Set(px, py, color.RGBA{v(0), v(1), v(2), 255})
				} else {
					canvas.Set(px, py, color.RGBA{v(0), v(0), v(0), 255})
				}
				canvas.Set(w+2+px, py, classColor(truth[i]))
				canvas.Set(2*w+4+px, py, classColor(pred[i]))
			}
		}
	}
	return writePNG(path, canvas)
}

// classColor is black for class 0, white for 1, then distinct hues; grey
// marks ignored pixels.
func classColor(id int32) color.RGBA {
	palette := []color.RGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {230, 25, 75, 255}, {60, 180, 75, 255},
		{0, 130, 200, 255}, {245, 130, 48, 255}, {145, 30, 180, 255}, {70, 240, 240, 255}, {240, 50, 230, 255}}
	if id < 0 {
		return color.RGBA{128, 128, 128, 255}
	}
	return palette[int(id)%len(palette)]
}

func writePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}
