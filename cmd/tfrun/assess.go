package main

import (
	"strconv"

	"github.com/tfrun/tfrun/modeldir"
)

// classNames labels a model's n classes for reports by what the labels
// hold: the mask value of each class, or the class index where the model
// records none (binary masks, arrays of class ids).
func classNames(in modeldir.Inputs, n int) []string {
	names := make([]string, n)
	for k := range names {
		names[k] = strconv.Itoa(k)
		if d := in.Decode; d != nil && k < len(d.Classes) {
			names[k] = strconv.Itoa(d.Classes[k])
		}
	}
	return names
}
