package savedmodels

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testdata = "../testdata/tf_saved_models/"

func TestHalfPlusTwoSignatures(t *testing.T) {
	sm, err := Load(testdata + "half_plus_two/00000123")
	if err != nil {
		t.Fatal(err)
	}
	mg, err := sm.MetaGraph("serve")
	if err != nil {
		t.Fatal(err)
	}
	if mg.TensorFlowVersion != "1.1.0-rc2" || mg.ObjectGraph != nil {
		t.Errorf("version %q, object graph %v: want a TF 1.1 model without one", mg.TensorFlowVersion, mg.ObjectGraph != nil)
	}
	var keys []string
	for _, s := range mg.Signatures {
		keys = append(keys, s.Key)
	}
	want := "classify_x2_to_y3 classify_x_to_y regress_x2_to_y3 regress_x_to_y regress_x_to_y2 serving_default"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("signatures %q, want %q", got, want)
	}
	sig := mg.Signatures[5]
	if sig.Method != "tensorflow/serving/predict" || len(sig.Inputs) != 1 || len(sig.Outputs) != 1 {
		t.Fatalf("serving_default = %+v", sig)
	}
	in, out := sig.Inputs[0], sig.Outputs[0]
	if in.Key != "x" || in.Name != "x:0" || in.DType != "DT_FLOAT" || in.ShapeString() != "(-1, 1)" {
		t.Errorf("input %+v (shape %s)", in, in.ShapeString())
	}
	if out.Key != "y" || out.Name != "y:0" || out.DType != "DT_FLOAT" {
		t.Errorf("output %+v", out)
	}
	ex := mg.Signatures[1].Inputs[0]
	if ex.DType != "DT_STRING" || ex.ShapeString() != "unknown_rank" {
		t.Errorf("classify_x_to_y input %+v (shape %s)", ex, ex.ShapeString())
	}
	b, err := sm.Variables()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Read("c")
	if err != nil || c.Float32[0] != 3 {
		t.Errorf("variable c = %v, %v", c, err)
	}
}

func TestObjectGraphModel(t *testing.T) {
	sm, err := Load(testdata + "VarsAndArithmeticObjectGraph")
	if err != nil {
		t.Fatal(err)
	}
	mg, err := sm.MetaGraph()
	if err != nil {
		t.Fatal(err)
	}
	if mg.ObjectGraph == nil || len(mg.ObjectGraph.Nodes) == 0 {
		t.Fatal("TF2 model without an object graph")
	}
	var names []string
	for _, n := range mg.ObjectGraph.Nodes {
		if v := n.Variable; v != nil {
			names = append(names, v.Name)
			if v.DType.String() != "DT_FLOAT" || len(v.Shape) != 0 || !v.Trainable {
				t.Errorf("variable %s: %+v, want a trainable float scalar", v.Name, v)
			}
		}
	}
	if got := strings.Join(names, ","); got != "variable_x,variable_y,child_variable" {
		t.Errorf("variables in the object graph: %s", got)
	}
	root := mg.ObjectGraph.Nodes[0]
	var children []string
	for _, c := range root.Children {
		children = append(children, c.LocalName)
	}
	if got := strings.Join(children, ","); !strings.HasPrefix(got, "x,y,child") {
		t.Errorf("root children %s", got)
	}
	if _, err := sm.MetaGraph("train"); err == nil {
		t.Error(`found a meta graph tagged "train"`)
	}
}

func TestTextFormatOnly(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "saved_model.pbtxt"), []byte("saved_model_schema_version: 1"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "saved_model.pbtxt") {
		t.Errorf("pbtxt only: %v", err)
	}
}

func TestNotASavedModel(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "not a SavedModel folder") {
		t.Errorf("empty folder: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "saved_model.pb"), []byte("PK\x03\x04 this is a zip"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "saved_model.pb")) {
		t.Errorf("garbage: %v", err)
	}
}

// A cut protocol buffer either fails, naming the file, or (when the cut
// falls between fields) decodes to less; it never panics.
func TestTruncatedSavedModel(t *testing.T) {
	data, err := os.ReadFile(testdata + "half_plus_two/00000123/saved_model.pb")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "saved_model.pb")
	failed := 0
	for n := 0; n < len(data); n += 7 {
		os.WriteFile(path, data[:n], 0o644)
		if _, err := Load(dir); err != nil {
			failed++
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
		}
	}
	if failed < len(data)/7*9/10 {
		t.Errorf("only %d of %d truncations failed", failed, len(data)/7)
	}
}
