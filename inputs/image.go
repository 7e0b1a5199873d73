package inputs

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registered for image.Decode
	_ "image/png"  // registered for image.Decode
	"os"
)

// maxPixels refuses images whose header claims more pixels than a
// whole-image float32 decode can sensibly hold (16384² pixels); such
// rasters belong in a GeoTIFF read by windows.
const maxPixels = 1 << 28

func loadImage(path string) (*Array, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	// The format is sniffed from the content so a PNG saved as .jpg still
	// loads; the header is checked before the decoder allocates for it.
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("inputs: %s: corrupt or unsupported image: %v", path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("inputs: %s: %d×%d %s is too large to load whole (max %d pixels)", path, cfg.Width, cfg.Height, format, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("inputs: %s: corrupt %s: %v", path, format, err)
	}
	return fromImage(img), nil
}

// fromImage keeps the stored sample values: grey stays one channel, colour
// becomes RGB with alpha dropped (straight, not premultiplied, colour), and
// 16-bit samples keep their full range.
func fromImage(img image.Image) *Array {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.Gray:
		a := newImage(h, w, 1)
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				a.Data[y*w+x] = float32(v)
			}
		}
		return a
	case *image.Gray16:
		a := newImage(h, w, 1)
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range w {
				a.Data[y*w+x] = float32(uint16(row[2*x])<<8 | uint16(row[2*x+1]))
			}
		}
		return a
	case *image.YCbCr:
		a := newImage(h, w, 3)
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				a.set3(y*w+x, float32(r), float32(g), float32(bl))
			}
		}
		return a
	case *image.NRGBA:
		a := newImage(h, w, 3)
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				a.set3(y*w+x, float32(row[4*x]), float32(row[4*x+1]), float32(row[4*x+2]))
			}
		}
		return a
	case *image.RGBA:
		a := newImage(h, w, 3)
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				p := row[4*x : 4*x+4]
				if p[3] != 0xff {
					// Translucent: undo the premultiplication as NRGBA would.
					c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
					p = []uint8{c.R, c.G, c.B}
				}
				a.set3(y*w+x, float32(p[0]), float32(p[1]), float32(p[2]))
			}
		}
		return a
	}

	// Paletted, CMYK and 16-bit colour. Only 16-bit models keep their low
	// byte; an 8-bit value v expands to v·0x101, which shifts back exactly.
	shift := uint(8)
	switch img.ColorModel() {
	case color.RGBA64Model, color.NRGBA64Model:
		shift = 0
	}
	a := newImage(h, w, 3)
	for y := range h {
		for x := range w {
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			a.set3(y*w+x, float32(c.R>>shift), float32(c.G>>shift), float32(c.B>>shift))
		}
	}
	return a
}

func newImage(h, w, c int) *Array {
	return &Array{Shape: []int{h, w, c}, Data: make([]float32, h*w*c)}
}

func (a *Array) set3(pixel int, r, g, b float32) {
	d := a.Data[3*pixel : 3*pixel+3]
	d[0], d[1], d[2] = r, g, b
}
