// Package dims holds the arithmetic on shapes ([]int dimensions) that the
// model, inference and storage code all need.
package dims

// Product is the number of elements of a shape; 1 for a scalar.
func Product(shape []int) int {
	p := 1
	for _, d := range shape {
		p *= d
	}
	return p
}
