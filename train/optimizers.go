package train

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Optimizer adds the update of every trained variable to a train-step graph.
// The three follow Keras' formulas and defaults, so a course notebook's
// settings carry over unchanged.
type Optimizer interface {
	Update(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*graph.Node)
}

const optScope = "/optimizer"

// NewOptimizer makes "adam", "rmsprop" or "sgd" (with momentum).
func NewOptimizer(name string, momentum float64) (Optimizer, error) {
	switch strings.ToLower(name) {
	case "adam":
		return adam{beta1: 0.9, beta2: 0.999, eps: 1e-7}, nil
	case "rmsprop":
		return rmsprop{rho: 0.9, eps: 1e-7}, nil
	case "sgd":
		return sgd{momentum: momentum}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (known: adam, rmsprop, sgd)", name)
}

// stateVar returns a non-trainable variable of the optimiser, created on
// first use: the step graph is built again for a new batch shape and must
// find the state the previous graph left.
func stateVar(ctx *context.Context, scope, name string, init *tensors.Tensor) *context.Variable {
	c := ctx.InAbsPath(scope)
	if v := c.GetVariable(name); v != nil {
		return v
	}
	v := c.VariableWithValue(name, init)
	v.Trainable = false
	return v
}

// LearningRate is the variable holding the current learning rate; callbacks
// change it between steps without rebuilding the graph.
func LearningRate(ctx *context.Context, initial float64) *context.Variable {
	return stateVar(ctx, optScope, "learning_rate", tensors.FromScalar(float32(initial)))
}

func slot(ctx *context.Context, v *context.Variable, name string) *context.Variable {
	return stateVar(ctx, optScope+"/slots"+v.Scope()+"/"+v.Name(), name, tensors.FromShape(v.Shape()))
}

func lrNode(ctx *context.Context, g *graph.Graph) *graph.Node {
	return LearningRate(ctx, 0.001).ValueGraph(g)
}

type adam struct{ beta1, beta2, eps float64 }

func (o adam) Update(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*graph.Node) {
	stepVar := stateVar(ctx, optScope, "iterations", tensors.FromScalar(float32(0)))
	step := graph.OnePlus(stepVar.ValueGraph(g))
	stepVar.SetValueGraph(step)
	// Keras folds both bias corrections into the step size.
	c1 := graph.OneMinus(graph.Pow(graph.Scalar(g, step.DType(), o.beta1), step))
	c2 := graph.OneMinus(graph.Pow(graph.Scalar(g, step.DType(), o.beta2), step))
	lr := graph.Div(graph.Mul(lrNode(ctx, g), graph.Sqrt(c2)), c1)
	for i, v := range vars {
		gr := grads[i]
		m, s := slot(ctx, v, "m"), slot(ctx, v, "v")
		mNew := graph.Add(graph.MulScalar(m.ValueGraph(g), o.beta1), graph.MulScalar(gr, 1-o.beta1))
		sNew := graph.Add(graph.MulScalar(s.ValueGraph(g), o.beta2), graph.MulScalar(graph.Square(gr), 1-o.beta2))
		m.SetValueGraph(mNew)
		s.SetValueGraph(sNew)
		upd := graph.Div(mNew, graph.AddScalar(graph.Sqrt(sNew), o.eps))
		v.SetValueGraph(graph.Sub(v.ValueGraph(g), graph.Mul(lr, upd)))
	}
}

type rmsprop struct{ rho, eps float64 }

func (o rmsprop) Update(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*graph.Node) {
	lr := lrNode(ctx, g)
	for i, v := range vars {
		gr := grads[i]
		ms := slot(ctx, v, "ms")
		msNew := graph.Add(graph.MulScalar(ms.ValueGraph(g), o.rho), graph.MulScalar(graph.Square(gr), 1-o.rho))
		ms.SetValueGraph(msNew)
		upd := graph.Div(gr, graph.AddScalar(graph.Sqrt(msNew), o.eps))
		v.SetValueGraph(graph.Sub(v.ValueGraph(g), graph.Mul(lr, upd)))
	}
}

type sgd struct{ momentum float64 }

func (o sgd) Update(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*graph.Node) {
	lr := lrNode(ctx, g)
	for i, v := range vars {
		step := graph.Mul(lr, grads[i])
		if o.momentum > 0 {
			vel := slot(ctx, v, "velocity")
			velNew := graph.Sub(graph.MulScalar(vel.ValueGraph(g), o.momentum), step)
			vel.SetValueGraph(velNew)
			v.SetValueGraph(graph.Add(v.ValueGraph(g), velNew))
			continue
		}
		v.SetValueGraph(graph.Sub(v.ValueGraph(g), step))
	}
}
