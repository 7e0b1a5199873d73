package kernels

import "sync"

// The pure-Go matrix product: op(B) is packed in panels of kc rows so every
// row of C streams through a contiguous block, and row blocks of C are
// spread over goroutines. Four rows of C share each load of B.

const (
	goKC       = 256 // contraction rows per packed panel of B
	goRowBlock = 32  // rows of C per parallel task
)

// goSgemm is Sgemm on up to workers goroutines.
func goSgemm(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleRows(m, n, beta, c, ldc)
	panel := make([]float32, min(goKC, k)*n)
	for k0 := 0; k0 < k; k0 += goKC {
		kc := min(goKC, k-k0)
		for p := range kc {
			row := panel[p*n : p*n+n]
			if transB {
				for j := range row {
					row[j] = alpha * b[j*ldb+k0+p]
				}
			} else {
				src := b[(k0+p)*ldb : (k0+p)*ldb+n]
				for j, v := range src {
					row[j] = alpha * v
				}
			}
		}
		aAt := func(i, p int) float32 {
			if transA {
				return a[(k0+p)*lda+i]
			}
			return a[i*lda+k0+p]
		}
		parallelFor(workers, (m+goRowBlock-1)/goRowBlock, func(blk int) {
			i0, i1 := blk*goRowBlock, min(m, (blk+1)*goRowBlock)
			i := i0
			for ; i+4 <= i1; i += 4 {
				c0 := c[i*ldc : i*ldc+n]
				c1 := c[(i+1)*ldc : (i+1)*ldc+n]
				c2 := c[(i+2)*ldc : (i+2)*ldc+n]
				c3 := c[(i+3)*ldc : (i+3)*ldc+n]
				for p := range kc {
					a0, a1, a2, a3 := aAt(i, p), aAt(i+1, p), aAt(i+2, p), aAt(i+3, p)
					row := panel[p*n : p*n+n]
					for j, bv := range row {
						c0[j] += a0 * bv
						c1[j] += a1 * bv
						c2[j] += a2 * bv
						c3[j] += a3 * bv
					}
				}
			}
			for ; i < i1; i++ {
				ci := c[i*ldc : i*ldc+n]
				for p := range kc {
					av := aAt(i, p)
					row := panel[p*n : p*n+n]
					for j, bv := range row {
						ci[j] += av * bv
					}
				}
			}
		})
	}
}

// parallelFor runs body(0..tasks-1) on up to workers goroutines.
func parallelFor(workers, tasks int, body func(task int)) {
	workers = min(workers, tasks)
	if workers <= 1 {
		for t := range tasks {
			body(t)
		}
		return
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				t := next
				next++
				mu.Unlock()
				if t >= tasks {
					return
				}
				body(t)
			}
		})
	}
	wg.Wait()
}
