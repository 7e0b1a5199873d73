//go:build !tensorflow

package main

import "github.com/tfrun/tfrun/tfgraph/tf"

func openTF(string, string) (tfModel, *tf.Serving, *tf.Training, error) {
	return nil, nil, nil, tf.ErrNotBuilt
}
