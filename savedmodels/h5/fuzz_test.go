package h5

import (
	"os"
	"testing"
)

// FuzzH5 opens mutated HDF5 files and reads what the tests and Keras read.
func FuzzH5(f *testing.F) {
	for _, p := range []string{"../../testdata/h5/earliest.h5", "../../testdata/h5/latest.h5", "../../testdata/h5/keras_like.h5"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := OpenBytes("fuzz.h5", data)
		if err != nil {
			return
		}
		for _, a := range []string{"vlen", "fixed", "names", "vnames", "empty", "model_config"} {
			h.StringsAttr("/", a)
		}
		h.HasAttr("/lots", "last")
		h.StringsAttr("/many/m299", "deep")
		for _, d := range []string{"f32", "f64", "f16", "be", "i16", "u8", "scalar", "zero"} {
			h.ReadFloat32("/weights/dense/" + d)
		}
		for _, d := range []string{"compact", "chunked", "text"} {
			h.ReadFloat32("/weights/other/" + d)
		}
		layers, _ := h.StringsAttr("/model_weights", "layer_names")
		for _, l := range layers {
			names, _ := h.StringsAttr("/model_weights/"+l, "weight_names")
			for _, n := range names {
				h.ReadFloat32("/model_weights/" + l + "/" + n)
			}
		}
	})
}
