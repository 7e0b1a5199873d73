//go:build tensorflow

package tf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	tensorflow "github.com/galeone/tensorflow/tensorflow/go"
	corepb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Model is a SavedModel loaded into a TensorFlow session.
type Model struct {
	Dir     string
	Serving *Serving
	// Training is nil when the SavedModel exports no train_step.
	Training *Training

	saved *tensorflow.SavedModel
	saver *corepb.SaverDef
}

// Load loads the meta graph tagged serve of the SavedModel in dir and
// restores its variables; signature picks the serving signature
// (DefaultSignature when empty).
func Load(dir, signature string) (*Model, error) {
	serve, train, err := Signatures(dir, signature)
	if err != nil {
		return nil, err
	}
	saver, err := saverDef(dir)
	if err != nil {
		return nil, err
	}
	// Grow GPU memory as needed rather than taking all of it up front,
	// so the device stays usable by other processes.
	config, err := proto.Marshal(&corepb.ConfigProto{GpuOptions: &corepb.GPUOptions{AllowGrowth: true}})
	if err != nil {
		return nil, err
	}
	saved, err := tensorflow.LoadSavedModel(dir, []string{ServeTag}, &tensorflow.SessionOptions{Config: config})
	if err != nil {
		return nil, fmt.Errorf("tensorflow: loading %s: %v", dir, err)
	}
	return &Model{Dir: dir, Serving: serve, Training: train, saved: saved, saver: saver}, nil
}

// saverDef reads how the serve graph saves its variables, which the
// bindings do not expose.
func saverDef(dir string) (*corepb.SaverDef, error) {
	path := filepath.Join(dir, "saved_model.pb")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, mg := range sm.GetMetaGraphs() {
		for _, t := range mg.GetMetaInfoDef().GetTags() {
			if t == ServeTag {
				return mg.GetSaverDef(), nil
			}
		}
	}
	return nil, fmt.Errorf("%s has no meta graph tagged %s", path, ServeTag)
}

// Close frees the session.
func (m *Model) Close() error { return m.saved.Session.Close() }

// output finds a graph tensor named "op:index".
func (m *Model) output(name string) (tensorflow.Output, error) {
	op, idx, found := strings.Cut(name, ":")
	i := 0
	if found {
		var err error
		if i, err = strconv.Atoi(idx); err != nil {
			return tensorflow.Output{}, fmt.Errorf("tensor name %q", name)
		}
	}
	o := m.saved.Graph.Operation(op)
	if o == nil || i >= o.NumOutputs() {
		return tensorflow.Output{}, fmt.Errorf("%s: the graph has no tensor %s", m.Dir, name)
	}
	return o.Output(i), nil
}

// batch makes a tensor [n, shape...] of float32 or int32 values.
func batch[T float32 | int32](dt tensorflow.DataType, values []T, n int, shape []int) (*tensorflow.Tensor, error) {
	dims := []int64{int64(n)}
	size := n
	for _, d := range shape {
		dims = append(dims, int64(d))
		size *= d
	}
	if len(values) != size {
		return nil, fmt.Errorf("%d values for %d examples of shape %v", len(values), n, shape)
	}
	var buf bytes.Buffer
	buf.Grow(4 * size)
	// TensorFlow's buffers are host-endian; its platforms are little-endian.
	if err := binary.Write(&buf, binary.LittleEndian, values); err != nil {
		return nil, err
	}
	return tensorflow.ReadTensor(dt, dims, &buf)
}

func floats(t *tensorflow.Tensor) ([]float32, error) {
	if t.DataType() != tensorflow.Float {
		return nil, fmt.Errorf("output of type %v, want float32", t.DataType())
	}
	var buf bytes.Buffer
	if _, err := t.WriteContentsTo(&buf); err != nil {
		return nil, err
	}
	out := make([]float32, buf.Len()/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf.Bytes()[4*i:]))
	}
	return out, nil
}

// Predict runs the serving signature on n examples, row-major, and
// returns its outputs [n, Output.Shape...].
func (m *Model) Predict(x []float32, n int) ([]float32, error) {
	in, err := m.output(m.Serving.Input.Name)
	if err != nil {
		return nil, err
	}
	out, err := m.output(m.Serving.Output.Name)
	if err != nil {
		return nil, err
	}
	t, err := batch(tensorflow.Float, x, n, m.Serving.Input.Shape)
	if err != nil {
		return nil, fmt.Errorf("predict: %v", err)
	}
	res, err := m.saved.Session.Run(map[tensorflow.Output]*tensorflow.Tensor{in: t}, []tensorflow.Output{out}, nil)
	if err != nil {
		return nil, fmt.Errorf("tensorflow: %s: %v", m.Serving.Key, err)
	}
	return floats(res[0])
}

// TrainStep runs train_step on a batch of n examples and their labels, and
// returns its scalar outputs by name (loss, accuracy).
func (m *Model) TrainStep(x []float32, y []int32, n int) (map[string]float64, error) {
	tr := m.Training
	if tr == nil {
		return nil, fmt.Errorf("%s exports no %s signature (export it with scripts/export_trainable.py)", m.Dir, TrainSignature)
	}
	xin, err := m.output(tr.X.Name)
	if err != nil {
		return nil, err
	}
	yin, err := m.output(tr.Y.Name)
	if err != nil {
		return nil, err
	}
	xt, err := batch(tensorflow.Float, x, n, tr.X.Shape)
	if err != nil {
		return nil, fmt.Errorf("train step x: %v", err)
	}
	yt, err := batch(tensorflow.Int32, y, n, tr.Y.Shape)
	if err != nil {
		return nil, fmt.Errorf("train step y: %v", err)
	}
	fetches := make([]tensorflow.Output, len(tr.Outputs))
	for i, o := range tr.Outputs {
		if fetches[i], err = m.output(o.Name); err != nil {
			return nil, err
		}
	}
	res, err := m.saved.Session.Run(map[tensorflow.Output]*tensorflow.Tensor{xin: xt, yin: yt}, fetches, nil)
	if err != nil {
		return nil, fmt.Errorf("tensorflow: %s: %v", TrainSignature, err)
	}
	logs := map[string]float64{}
	for i, o := range tr.Outputs {
		v, err := floats(res[i])
		if err != nil || len(v) != 1 {
			return nil, fmt.Errorf("%s output %q is not a float32 scalar", TrainSignature, o.Key)
		}
		logs[o.Key] = float64(v[0])
	}
	return logs, nil
}

// Export writes the model with its current variable values as a SavedModel
// in dir: the graph files are copied, and the session's own saver (the one
// the loader restores from) writes the variables bundle.
func (m *Model) Export(dir string) error {
	if m.saver.GetFilenameTensorName() == "" || m.saver.GetSaveTensorName() == "" {
		return fmt.Errorf("%s: its serve graph has no saver, so its variables cannot be written", m.Dir)
	}
	src, err := filepath.Abs(m.Dir)
	if err != nil {
		return err
	}
	dst, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if src == dst {
		return fmt.Errorf("export: %s is the model's own folder", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "variables"), 0o755); err != nil {
		return err
	}
	filename, err := m.output(m.saver.GetFilenameTensorName())
	if err != nil {
		return err
	}
	save, err := m.output(m.saver.GetSaveTensorName())
	if err != nil {
		return err
	}
	prefix, err := tensorflow.NewTensor(filepath.Join(dst, "variables", "variables"))
	if err != nil {
		return err
	}
	if _, err := m.saved.Session.Run(map[tensorflow.Output]*tensorflow.Tensor{filename: prefix}, []tensorflow.Output{save}, nil); err != nil {
		return fmt.Errorf("tensorflow: saving variables: %v", err)
	}
	for _, f := range []string{"saved_model.pb", "keras_metadata.pb", "fingerprint.pb"} {
		if err := copyFile(filepath.Join(src, f), filepath.Join(dst, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return copyTree(filepath.Join(src, "assets"), filepath.Join(dst, "assets"))
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies a folder of asset files; a missing folder is no error.
func copyTree(from, to string) error {
	entries, err := os.ReadDir(from)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		var err error
		if e.IsDir() {
			err = copyTree(filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
		} else {
			err = copyFile(filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
