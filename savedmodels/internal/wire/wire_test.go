package wire

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestShapeAndMapEntry(t *testing.T) {
	dim := func(n int64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(n))
	}
	var shape []byte
	for _, d := range []int64{-1, 28, 3} {
		shape = protowire.AppendBytes(protowire.AppendTag(shape, 2, protowire.BytesType), dim(d))
	}
	dims, known, err := Shape(shape)
	if err != nil || !known || len(dims) != 3 || dims[0] != -1 || dims[1] != 28 {
		t.Errorf("Shape = %v, %v, %v", dims, known, err)
	}
	unknown := protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 1)
	if dims, known, _ := Shape(unknown); known || dims != nil {
		t.Errorf("unknown rank gave %v, %v", dims, known)
	}
	if _, _, err := Shape(shape[:len(shape)-1]); err == nil {
		t.Error("truncated shape decoded")
	}
	entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "x")
	entry = protowire.AppendBytes(protowire.AppendTag(entry, 2, protowire.BytesType), []byte{1, 2})
	k, v, err := MapEntry(entry)
	if err != nil || k != "x" || len(v) != 2 {
		t.Errorf("MapEntry = %q, %v, %v", k, v, err)
	}
	fixed := protowire.AppendFixed32(protowire.AppendTag(nil, 6, protowire.Fixed32Type), 0xdeadbeef)
	if err := Each(fixed, func(f Field) error {
		if f.Num != 6 || f.Fixed != 0xdeadbeef {
			t.Errorf("fixed32 field %+v", f)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}
