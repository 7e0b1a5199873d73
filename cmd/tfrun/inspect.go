package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tfrun/tfrun/savedmodels"
	"github.com/tfrun/tfrun/savedmodels/bundle"
	"github.com/tfrun/tfrun/savedmodels/keras"
	"github.com/urfave/cli/v2"
)

// inspectSmallTensor is the most elements whose values inspect prints.
const inspectSmallTensor = 8

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show a TensorFlow SavedModel's signatures and variables, or a Keras model's layers and weights",
		UsageText: "tfrun inspect [--json] SAVEDMODEL_DIR | MODEL.h5",
		Description: "For a SavedModel folder: each meta graph's signatures (as saved_model_cli show --all prints them), " +
			"every variable of the bundle with its dtype and shape (values of those with at most 8 elements; every " +
			"tensor's CRC-32C is checked), and, when keras_metadata.pb is there, a Keras-style summary. " +
			"For a Keras .h5 file: the summary and the weights. No TensorFlow is needed.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of text"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("inspect: give one SavedModel folder or .h5 file")
			}
			rep, err := inspectPath(c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.write(os.Stdout)
		},
	}
}

// inspectReport is everything inspect found; its JSON form is --json's output.
type inspectReport struct {
	Path       string                  `json:"path"`
	Format     string                  `json:"format"`
	SavedModel *savedmodels.SavedModel `json:"saved_model,omitempty"`
	Variables  []inspectVariable       `json:"variables,omitempty"`
	Keras      *inspectKeras           `json:"keras,omitempty"`
}

type inspectVariable struct {
	Name  string    `json:"name"`
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Value []float64 `json:"values,omitempty"`
}

type inspectKeras struct {
	Name               string             `json:"name"`
	ClassName          string             `json:"class_name"`
	KerasVersion       string             `json:"keras_version,omitempty"`
	InputShape         []int              `json:"input_shape"`
	Layers             []keras.SummaryRow `json:"layers"`
	TotalParams        int                `json:"total_params"`
	TrainableParams    int                `json:"trainable_params"`
	NonTrainableParams int                `json:"non_trainable_params"`
	Weights            []inspectWeight    `json:"weights"`
	model              *keras.Model
}

type inspectWeight struct {
	Layer     string `json:"layer"`
	Name      string `json:"name"`
	Shape     []int  `json:"shape"`
	Trainable bool   `json:"trainable"`
	Key       string `json:"key"`
}

func inspectPath(path string) (*inspectReport, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	rep := &inspectReport{Path: path}
	if !st.IsDir() {
		rep.Format = "HDF5"
		m, err := keras.LoadH5(path)
		if err != nil {
			return nil, err
		}
		rep.Keras = newInspectKeras(m)
		return rep, nil
	}
	rep.Format = "SavedModel"
	if rep.SavedModel, err = savedmodels.Load(path); err != nil {
		return nil, err
	}
	vars, err := rep.SavedModel.Variables()
	switch {
	case errors.Is(err, os.ErrNotExist):
		// A graph of constants has no variables folder.
	case err != nil:
		return nil, err
	default:
		defer vars.Close()
		if rep.Variables, err = inspectVariables(vars); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(path, "keras_metadata.pb")); err == nil {
		m, err := keras.LoadSavedModel(path)
		if err != nil {
			return nil, err
		}
		rep.Keras = newInspectKeras(m)
	}
	return rep, nil
}

// inspectVariables reads every tensor, so that each checksum is verified, and
// keeps the values of the small numeric ones.
func inspectVariables(b *bundle.Bundle) ([]inspectVariable, error) {
	vars := make([]inspectVariable, 0, len(b.Entries))
	for _, e := range b.Entries {
		v := inspectVariable{Name: e.Name, DType: e.DType.String(), Shape: e.Shape}
		if e.Sliced {
			vars = append(vars, v)
			continue
		}
		t, err := b.Read(e.Name)
		if err != nil {
			return nil, err
		}
		if e.NumElements() <= inspectSmallTensor {
			for _, x := range t.Float32 {
				// The shortest decimal that reads back as the same float32,
				// so that 0.1 prints as 0.1 in text and JSON alike.
				f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
				v.Value = append(v.Value, f)
			}
			for _, x := range t.Int64 {
				v.Value = append(v.Value, float64(x))
			}
			v.Value = append(v.Value, t.Float64...)
		}
		vars = append(vars, v)
	}
	return vars, nil
}

func newInspectKeras(m *keras.Model) *inspectKeras {
	total, trainable := m.Params()
	k := &inspectKeras{
		Name: m.Name, ClassName: m.ClassName, KerasVersion: m.KerasVersion, InputShape: m.InputShape,
		Layers: m.SummaryRows(), TotalParams: total, TrainableParams: trainable,
		NonTrainableParams: total - trainable, Weights: []inspectWeight{}, model: m,
	}
	var add func(layers []*keras.Layer)
	add = func(layers []*keras.Layer) {
		for _, l := range layers {
			for _, w := range l.Weights {
				k.Weights = append(k.Weights, inspectWeight{Layer: l.Name, Name: w.Name, Shape: w.Shape, Trainable: w.Trainable, Key: w.Key})
			}
			if l.Model != nil {
				add(l.Model.Layers)
			}
		}
	}
	add(m.Layers)
	return k
}

func (r *inspectReport) write(out io.Writer) error {
	var b strings.Builder
	if sm := r.SavedModel; sm != nil {
		fmt.Fprintf(&b, "SavedModel %s (schema version %d)\n", r.Path, sm.SchemaVersion)
		for _, mg := range sm.MetaGraphs {
			writeInspectMetaGraph(&b, mg)
		}
		writeInspectVariables(&b, r.Variables)
	} else {
		fmt.Fprintf(&b, "Keras HDF5 file %s\n", r.Path)
	}
	if k := r.Keras; k != nil {
		b.WriteString("\n")
		if err := k.model.Summary(&b); err != nil {
			return err
		}
		if r.SavedModel == nil {
			writeInspectWeights(&b, k.Weights)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// writeInspectMetaGraph follows saved_model_cli show --all.
func writeInspectMetaGraph(b *strings.Builder, mg savedmodels.MetaGraph) {
	fmt.Fprintf(b, "\nMetaGraphDef with tag-set: '%s' contains the following SignatureDefs:\n", strings.Join(mg.Tags, ", "))
	if mg.TensorFlowVersion != "" {
		fmt.Fprintf(b, "(written by TensorFlow %s)\n", mg.TensorFlowVersion)
	}
	for _, s := range mg.Signatures {
		fmt.Fprintf(b, "\nsignature_def['%s']:\n", s.Key)
		for _, side := range []struct {
			what, key string
			infos     []savedmodels.TensorInfo
		}{{"input(s)", "inputs", s.Inputs}, {"output(s)", "outputs", s.Outputs}} {
			fmt.Fprintf(b, "  The given SavedModel SignatureDef contains the following %s:\n", side.what)
			for _, ti := range side.infos {
				fmt.Fprintf(b, "    %s['%s'] tensor_info:\n", side.key, ti.Key)
				fmt.Fprintf(b, "        dtype: %s\n        shape: %s\n        name: %s\n", ti.DType, ti.ShapeString(), ti.Name)
			}
		}
		fmt.Fprintf(b, "  Method name is: %s\n", s.Method)
	}
}

func writeInspectVariables(b *strings.Builder, vars []inspectVariable) {
	if len(vars) == 0 {
		b.WriteString("\nVariables: none\n")
		return
	}
	fmt.Fprintf(b, "\nVariables (%d, checksums verified):\n", len(vars))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, v := range vars {
		fmt.Fprintf(tw, "  %s\t%s\t%s", v.Name, v.DType, inspectShape(v.Shape))
		if v.Value != nil {
			fmt.Fprintf(tw, "\t= %s", inspectValues(v.Value, len(v.Shape) == 0))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func writeInspectWeights(b *strings.Builder, ws []inspectWeight) {
	fmt.Fprintf(b, "\nWeights (%d):\n", len(ws))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, w := range ws {
		fmt.Fprintf(tw, "  %s/%s\t%s\t%s", w.Layer, w.Name, inspectShape(w.Shape), w.Key)
		if !w.Trainable {
			fmt.Fprint(tw, "\tnon-trainable")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func inspectShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func inspectValues(v []float64, scalar bool) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	if scalar {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
