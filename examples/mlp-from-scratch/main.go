// Command mlp-from-scratch trains the course's 784→64→32→10 MLP on MNIST
// with nothing but the Go standard library, printing the training loss and
// test accuracy after each epoch.
//
// MNIST is read from the Go module cache (see scratch.MNISTDir), never from
// the network.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/tfrun/tfrun/examples/mlp-from-scratch/scratch"
)

func main() {
	epochs := flag.Int("epochs", 5, "passes over the 60000 training images")
	lr := flag.Float64("lr", 0.1, "SGD learning rate")
	batch := flag.Int("batch", 64, "mini-batch size")
	seed := flag.Uint64("seed", 1, "seed for the initial weights and the shuffling")
	flag.Parse()
	if *epochs <= 0 || *batch <= 0 || *lr <= 0 {
		fmt.Fprintln(os.Stderr, "mlp-from-scratch: -epochs, -batch and -lr must be positive")
		os.Exit(2)
	}
	if err := run(*epochs, *batch, *lr, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "mlp-from-scratch:", err)
		os.Exit(1)
	}
}

func run(epochs, batch int, lr float64, seed uint64) error {
	dir, err := scratch.MNISTDir()
	if err != nil {
		return err
	}
	trainX, trainY, err := scratch.LoadMNIST(dir, "train")
	if err != nil {
		return err
	}
	testX, testY, err := scratch.LoadMNIST(dir, "test")
	if err != nil {
		return err
	}
	const in = 28 * 28
	n := len(trainY)
	fmt.Printf("MNIST from %s: %d train, %d test images\n", dir, n, len(testY))

	m := scratch.New([]int{in, 64, 32, 10}, seed)
	// A stream distinct from the weights' so that changing one does not
	// shift the other.
	rng := rand.New(rand.NewPCG(seed, 1))
	xb := make([]float64, batch*in)
	yb := make([]int, batch)
	start := time.Now()
	for epoch := 1; epoch <= epochs; epoch++ {
		perm := rng.Perm(n)
		var sum float64
		steps := 0
		for lo := 0; lo < n; lo += batch {
			b := min(batch, n-lo)
			for s, idx := range perm[lo : lo+b] {
				copy(xb[s*in:(s+1)*in], trainX[idx*in:(idx+1)*in])
				yb[s] = trainY[idx]
			}
			loss, dW, dB := m.Gradients(xb[:b*in], yb[:b], b)
			m.Step(dW, dB, lr)
			sum += loss
			steps++
		}
		acc := m.Accuracy(testX, testY, len(testY))
		fmt.Printf("epoch %d: train loss %.4f, test accuracy %.4f (%.1fs)\n",
			epoch, sum/float64(steps), acc, time.Since(start).Seconds())
	}
	return nil
}
