package adapter

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// batchNormAxes validates the per-feature operands and returns the axes that
// are reduced (all but featureAxis), the shape that broadcasts a [features]
// vector against the operand, and the number of elements per feature.
func batchNormAxes(c *composer, operand backends.Op, featureAxis int, perFeature ...backends.Op) (
	reduceAxes, featureDims []int, count int) {
	shape := c.shape(operand)
	if c.err != nil {
		return
	}
	rank := shape.Rank()
	if featureAxis < 0 || featureAxis >= rank {
		c.failf("feature axis %d out of range for operand %s", featureAxis, shape)
		return
	}
	features := shape.Dimensions[featureAxis]
	for _, op := range perFeature {
		s := c.shape(op)
		if c.err != nil {
			return
		}
		if !s.Equal(shapes.Make(shape.DType, features)) {
			c.failf("per-feature operand shaped %s, expected [%d] of %s for operand %s", s, features, shape.DType, shape)
			return
		}
	}
	count = 1
	featureDims = make([]int, rank)
	for axis, d := range shape.Dimensions {
		featureDims[axis] = 1
		if axis == featureAxis {
			featureDims[axis] = d
			continue
		}
		reduceAxes = append(reduceAxes, axis)
		count *= d
	}
	return
}

// BatchNormForTraining implements backends.Builder: mean and biased variance
// are taken over every axis except featureAxis.
func (b *Builder) BatchNormForTraining(operand, scale, offset backends.Op, epsilon float32, featureAxis int) (
	normalized, batchMean, batchVariance backends.Op, err error) {
	c := b.compose()
	reduceAxes, featureDims, count := batchNormAxes(c, operand, featureAxis, scale, offset)
	dtype := c.shape(operand).DType
	if c.err == nil && count == 0 {
		c.failf("operand %s has no elements to normalize over", c.shape(operand))
	}
	invCount := c.scalar(dtype, 1/float64(count))
	batchMean = c.mul(c.reduceSum(operand, reduceAxes...), invCount)
	centered := c.sub(operand, c.reshape(batchMean, featureDims...))
	batchVariance = c.mul(c.reduceSum(c.mul(centered, centered), reduceAxes...), invCount)
	invStd := c.call(func() (backends.Op, error) {
		return c.b.Rsqrt(c.add(batchVariance, c.scalar(dtype, float64(epsilon))))
	})
	normalized = c.mul(centered, c.reshape(c.mul(scale, invStd), featureDims...))
	normalized = c.add(normalized, c.reshape(offset, featureDims...))
	if c.err != nil {
		_, err = c.result("BatchNormForTraining", nil)
		return nil, nil, nil, err
	}
	return normalized, batchMean, batchVariance, nil
}

// BatchNormForInference implements backends.Builder with the given statistics.
func (b *Builder) BatchNormForInference(operand, scale, offset, mean, variance backends.Op, epsilon float32,
	featureAxis int) (backends.Op, error) {
	c := b.compose()
	_, featureDims, _ := batchNormAxes(c, operand, featureAxis, scale, offset, mean, variance)
	dtype := c.shape(operand).DType
	invStd := c.call(func() (backends.Op, error) {
		return c.b.Rsqrt(c.add(variance, c.scalar(dtype, float64(epsilon))))
	})
	factor := c.mul(scale, invStd)
	shift := c.sub(offset, c.mul(mean, factor))
	out := c.add(c.mul(operand, c.reshape(factor, featureDims...)), c.reshape(shift, featureDims...))
	return c.result("BatchNormForInference", out)
}

// BatchNormGradient implements backends.Builder, assuming (as XLA does) that
// mean and variance are the batch statistics of operand, so their dependence
// on operand is part of the gradient:
//
//	xhat       = (x - mean) / sqrt(var + eps)
//	gradOffset = sum(dy)
//	gradScale  = sum(dy * xhat)
//	gradX      = scale / sqrt(var + eps) * (dy - gradOffset/N - xhat*gradScale/N)
func (b *Builder) BatchNormGradient(operand, scale, mean, variance, gradOutput backends.Op, epsilon float32,
	featureAxis int) (gradOperand, gradScale, gradOffset backends.Op, err error) {
	c := b.compose()
	reduceAxes, featureDims, count := batchNormAxes(c, operand, featureAxis, scale, mean, variance)
	opShape, gShape := c.shape(operand), c.shape(gradOutput)
	if c.err == nil && !opShape.Equal(gShape) {
		c.failf("gradOutput shaped %s, operand shaped %s", gShape, opShape)
	}
	if c.err == nil && count == 0 {
		c.failf("operand %s has no elements to normalize over", opShape)
	}
	dtype := opShape.DType
	invStd := c.call(func() (backends.Op, error) {
		return c.b.Rsqrt(c.add(variance, c.scalar(dtype, float64(epsilon))))
	})
	xhat := c.mul(c.sub(operand, c.reshape(mean, featureDims...)), c.reshape(invStd, featureDims...))
	gradOffset = c.reduceSum(gradOutput, reduceAxes...)
	gradScale = c.reduceSum(c.mul(gradOutput, xhat), reduceAxes...)
	invCount := c.scalar(dtype, 1/float64(count))
	meanDy := c.reshape(c.mul(gradOffset, invCount), featureDims...)
	meanDyXhat := c.reshape(c.mul(gradScale, invCount), featureDims...)
	inner := c.sub(c.sub(gradOutput, meanDy), c.mul(xhat, meanDyXhat))
	gradOperand = c.mul(inner, c.reshape(c.mul(scale, invStd), featureDims...))
	if c.err != nil {
		_, err = c.result("BatchNormGradient", nil)
		return nil, nil, nil, err
	}
	return gradOperand, gradScale, gradOffset, nil
}
