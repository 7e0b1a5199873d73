package scenes

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Labels turns label values into class ids: a value is first remapped
// (the course's changelabel), then class i is the pixel whose value is
// Values[i]. Every other value, and the label raster's nodata, is -1, the
// ignore index that losses and metrics skip.
type Labels struct {
	Remap  map[int]int `yaml:"remap,omitempty"`
	Values []int       `yaml:"values,flow"`
	Names  []string    `yaml:"names,flow"`
}

// Classes is the number of classes, the model's output depth.
func (l *Labels) Classes() int { return len(l.Values) }

// Code writes the class id of each raw label value into out; nodata, when
// not nil, is the label raster's nodata value.
func (l *Labels) Code(raw []float32, nodata *float64, out []int32) {
	for i, v := range raw {
		out[i] = l.class(v, nodata)
	}
}

func (l *Labels) class(v float32, nodata *float64) int32 {
	f := float64(v)
	if math.IsNaN(f) || nodata != nil && f == *nodata || f != math.Trunc(f) {
		return -1
	}
	iv := int(f)
	if r, ok := l.Remap[iv]; ok {
		iv = r
	}
	return int32(slices.Index(l.Values, iv))
}

// remapped is a label value after the remap.
func (l *Labels) remapped(v int) int {
	if r, ok := l.Remap[v]; ok {
		return r
	}
	return v
}

// resolveLabels settles the classes from the configured ones and the
// label values counted in the training region (after remap). Without
// configured classes, values 1..max are classes 0..max-1 and 0 is
// unlabelled; with them, the listed values in ascending order are the
// classes, and any other value present is an error, since silently
// ignoring a mislabelled class would train on a different problem.
func resolveLabels(path string, remap map[int]int, classes map[int]string, counts map[int]int64) (*Labels, error) {
	l := &Labels{Remap: remap}
	if len(classes) > 0 {
		l.Values = slices.Sorted(maps.Keys(classes))
		for _, v := range l.Values {
			l.Names = append(l.Names, classes[v])
		}
		var stray []string
		for _, v := range slices.Sorted(maps.Keys(counts)) {
			if v != 0 && !slices.Contains(l.Values, v) {
				stray = append(stray, fmt.Sprintf("%d (%d pixels)", v, counts[v]))
			}
		}
		if len(stray) > 0 {
			return nil, fmt.Errorf("%s: label values %s are not among the classes %v; list them under classes, or remap them (to 0 to ignore them)",
				path, strings.Join(stray, ", "), l.Values)
		}
		return l, nil
	}
	top := 0
	for v := range counts {
		if v < 0 {
			return nil, fmt.Errorf("%s: label value %d is negative; remap it, or list the classes", path, v)
		}
		top = max(top, v)
	}
	if top == 0 {
		return nil, fmt.Errorf("%s: no labelled pixel (every label is 0 or nodata) in the training region", path)
	}
	for v := 1; v <= top; v++ {
		l.Values = append(l.Values, v)
		l.Names = append(l.Names, strconv.Itoa(v))
	}
	return l, nil
}
