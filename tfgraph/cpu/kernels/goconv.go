package kernels

// The pure-Go convolutions lower each image and group to a matrix product
// over a patch matrix (im2col) of one image only, so the scratch memory is
// bounded by one image's patches per worker whatever the batch size.

// conv3 is a ConvSpec with its spatial axes padded to three, so the loops
// below need no recursion.
type conv3 struct {
	n, c, o, g        int
	sn, sc, dn, dc    int    // batch and channel strides of src and dst
	in, out, k        [3]int // spatial sizes
	ss, ds            [3]int // spatial strides of src and dst
	stride, dil, lo   [3]int
	cg, og, kvol, pos int // channels per group (in, out), kernel volume, output positions
}

func newConv3(s *ConvSpec) *conv3 {
	c := &conv3{
		n: s.Src.Dims[0], c: s.Src.Dims[1], o: s.Dst.Dims[1], g: s.groups(),
		sn: s.Src.Strides[0], sc: s.Src.Strides[1], dn: s.Dst.Strides[0], dc: s.Dst.Strides[1],
	}
	for i := range 3 {
		c.in[i], c.out[i], c.k[i], c.stride[i], c.dil[i] = 1, 1, 1, 1, 1
		if i < len(s.Kernel) {
			c.in[i], c.out[i], c.k[i] = s.Src.Dims[2+i], s.Dst.Dims[2+i], s.Kernel[i]
			c.ss[i], c.ds[i] = s.Src.Strides[2+i], s.Dst.Strides[2+i]
			c.stride[i], c.dil[i], c.lo[i] = s.Strides[i], s.Dilations[i], s.PadLo[i]
		}
	}
	c.cg, c.og = c.c/c.g, c.o/c.g
	c.kvol = c.k[0] * c.k[1] * c.k[2]
	c.pos = c.out[0] * c.out[1] * c.out[2]
	return c
}

// width is the length of a patch row: channels per group times kernel volume,
// ordered (channel, kernel offsets) like a weights row.
func (c *conv3) width() int { return c.cg * c.kvol }

// patches visits, for image n and group g, every (output position, patch
// column) pair whose source position is inside the image, with the source
// offset. Positions in the padding are skipped: they read as zero.
func (c *conv3) patches(n, g int, visit func(row, col, srcOff int)) {
	width := c.width()
	row := 0
	for o0 := range c.out[0] {
		for o1 := range c.out[1] {
			for o2 := range c.out[2] {
				col := 0
				for ch := range c.cg {
					base := n*c.sn + (g*c.cg+ch)*c.sc
					for k0 := range c.k[0] {
						i0 := o0*c.stride[0] - c.lo[0] + k0*c.dil[0]
						for k1 := range c.k[1] {
							i1 := o1*c.stride[1] - c.lo[1] + k1*c.dil[1]
							for k2 := range c.k[2] {
								i2 := o2*c.stride[2] - c.lo[2] + k2*c.dil[2]
								if i0 >= 0 && i0 < c.in[0] && i1 >= 0 && i1 < c.in[1] && i2 >= 0 && i2 < c.in[2] {
									visit(row, col, base+i0*c.ss[0]+i1*c.ss[1]+i2*c.ss[2])
								}
								col++
							}
						}
					}
				}
				row += width
			}
		}
	}
}

// dstOffsets lists the destination offset of each output position of image
// n, channel 0 of group g.
func (c *conv3) dstOffsets(n, g int, offs []int) {
	i := 0
	for o0 := range c.out[0] {
		for o1 := range c.out[1] {
			for o2 := range c.out[2] {
				offs[i] = n*c.dn + g*c.og*c.dc + o0*c.ds[0] + o1*c.ds[1] + o2*c.ds[2]
				i++
			}
		}
	}
}

// scratch is one worker's buffers.
type scratch struct {
	col, mat []float32
	offs     []int
	acc      []float32 // this worker's share of a weights gradient
}

func (c *conv3) newScratch(accLen int) *scratch {
	return &scratch{col: make([]float32, c.pos*c.width()), mat: make([]float32, c.pos*c.og), offs: make([]int, c.pos),
		acc: make([]float32, accLen)}
}

// im2col fills sc.col for image n, group g.
func (c *conv3) im2col(src []float32, n, g int, sc *scratch) {
	clear(sc.col)
	c.patches(n, g, func(row, col, off int) { sc.col[row+col] = src[off] })
}

// perImage runs body for every image on up to Threads() workers, each with
// its own scratch (with an accumulator of accLen values), and returns the
// scratches used.
func (c *conv3) perImage(accLen int, body func(n int, sc *scratch)) []*scratch {
	workers := min(Threads(), c.n)
	scs := make([]*scratch, workers)
	next := make(chan int, c.n)
	for n := range c.n {
		next <- n
	}
	close(next)
	for w := range scs {
		scs[w] = c.newScratch(accLen)
	}
	parallelFor(workers, workers, func(w int) {
		for n := range next {
			body(n, scs[w])
		}
	})
	return scs
}

func goConvForward(s *ConvSpec, src, wei, dst []float32) {
	c := newConv3(s)
	width := c.width()
	c.perImage(0, func(n int, sc *scratch) {
		for g := range c.g {
			c.im2col(src, n, g, sc)
			w := wei[g*c.og*width : (g+1)*c.og*width]
			goSgemm(1, false, true, c.pos, c.og, width, 1, sc.col, width, w, width, 0, sc.mat, c.og)
			c.dstOffsets(n, g, sc.offs)
			for p, off := range sc.offs {
				for o, v := range sc.mat[p*c.og : (p+1)*c.og] {
					dst[off+o*c.dc] = v
				}
			}
		}
	})
}

// gatherDst copies the destination-shaped gradient of image n, group g into
// sc.mat as [positions, channels].
func (c *conv3) gatherDst(diffDst []float32, n, g int, sc *scratch) {
	c.dstOffsets(n, g, sc.offs)
	for p, off := range sc.offs {
		row := sc.mat[p*c.og : (p+1)*c.og]
		for o := range row {
			row[o] = diffDst[off+o*c.dc]
		}
	}
}

func goConvBackwardData(s *ConvSpec, diffDst, wei, diffSrc []float32) {
	c := newConv3(s)
	width := c.width()
	c.perImage(0, func(n int, sc *scratch) {
		for ch := range c.c {
			for i0 := range c.in[0] {
				for i1 := range c.in[1] {
					for i2 := range c.in[2] {
						diffSrc[n*c.sn+ch*c.sc+i0*c.ss[0]+i1*c.ss[1]+i2*c.ss[2]] = 0
					}
				}
			}
		}
		for g := range c.g {
			c.gatherDst(diffDst, n, g, sc)
			w := wei[g*c.og*width : (g+1)*c.og*width]
			goSgemm(1, false, false, c.pos, width, c.og, 1, sc.mat, c.og, w, width, 0, sc.col, width)
			c.patches(n, g, func(row, col, off int) { diffSrc[off] += sc.col[row+col] })
		}
	})
}

func goConvBackwardWeights(s *ConvSpec, src, diffDst, diffWei []float32) {
	c := newConv3(s)
	width := c.width()
	scs := c.perImage(len(diffWei), func(n int, sc *scratch) {
		for g := range c.g {
			c.im2col(src, n, g, sc)
			c.gatherDst(diffDst, n, g, sc)
			w := sc.acc[g*c.og*width : (g+1)*c.og*width]
			goSgemm(1, true, false, c.og, width, c.pos, 1, sc.mat, c.og, sc.col, width, 1, w, width)
		}
	})
	clear(diffWei)
	for _, sc := range scs {
		for i, v := range sc.acc {
			diffWei[i] += v
		}
	}
}
