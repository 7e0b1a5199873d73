//go:build tensorflow

package main

import "github.com/tfrun/tfrun/tfgraph/tf"

func openTF(dir, signature string) (tfModel, *tf.Serving, *tf.Training, error) {
	m, err := tf.Load(dir, signature)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, m.Serving, m.Training, nil
}
