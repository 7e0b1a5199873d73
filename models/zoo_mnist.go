package models

import "github.com/tfrun/tfrun/layers"

// The course's case-1 models. The MLP is written in the functional style
// and the conv net in the Sequential style, as the course shows both.
func init() {
	RegisterZoo("mlp", func(input []int, classes int, _ *Options) (*Model, error) {
		f := NewFunctional("mlp")
		in := f.Input(input...)
		x := f.Apply(&layers.Flatten{}, in)
		x = f.Apply(&layers.Dense{Units: 64, Activation: "relu"}, x)
		x = f.Apply(&layers.Dense{Units: 32, Activation: "relu"}, x)
		out := f.Apply(&layers.Dense{Units: orDefault(classes, 10), Activation: "softmax"}, x)
		return f.Build(out)
	})
	RegisterZoo("convnet", func(input []int, classes int, _ *Options) (*Model, error) {
		conv := func(filters int) layers.Layer {
			return &layers.Conv2D{Filters: filters, Kernel: layers.Sq(3), Padding: "same", Activation: "relu"}
		}
		return Sequential("convnet", input,
			conv(32), conv(32), conv(32),
			layers.MaxPool2D(2),
			conv(64), conv(64), conv(64),
			layers.MaxPool2D(2),
			&layers.Flatten{},
			&layers.Dense{Units: 1024, Activation: "relu"},
			&layers.Dropout{Rate: 0.5},
			&layers.Dense{Units: orDefault(classes, 10), Activation: "softmax"},
		)
	})
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
