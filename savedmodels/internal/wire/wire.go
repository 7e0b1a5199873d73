// Package wire walks protocol buffer messages field by field. TensorFlow's
// generated Go protos (github.com/galeone/tensorflow/tensorflow/go) cannot
// be linked into tfrun: they register stream_executor's dnn.proto, which
// GoMLX's XLA bindings register too, and the protobuf runtime panics at
// start-up on the clash. The few messages tfrun reads are decoded here.
package wire

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Field is one decoded field: Bytes for length-delimited fields, Varint
// for varints, Fixed for 32- and 64-bit ones.
type Field struct {
	Num    protowire.Number
	Type   protowire.Type
	Bytes  []byte
	Varint uint64
	Fixed  uint64
}

// Each calls fn for every field of the message in b, in order.
func Each(b []byte, fn func(Field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := Field{Num: num, Type: typ}
		switch typ {
		case protowire.BytesType:
			f.Bytes, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			f.Varint, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			f.Fixed = uint64(x)
		case protowire.Fixed64Type:
			f.Fixed, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// Shape decodes a TensorShapeProto: dim = 2 (each with size = 1),
// unknown_rank = 3. An unknown rank gives known = false.
func Shape(b []byte) (dims []int64, known bool, err error) {
	known = true
	err = Each(b, func(f Field) error {
		switch {
		case f.Num == 2 && f.Type == protowire.BytesType:
			size := int64(0)
			if err := Each(f.Bytes, func(d Field) error {
				if d.Num == 1 && d.Type == protowire.VarintType {
					size = int64(d.Varint)
				}
				return nil
			}); err != nil {
				return err
			}
			dims = append(dims, size)
		case f.Num == 3 && f.Type == protowire.VarintType:
			known = f.Varint == 0
		}
		return nil
	})
	if !known {
		dims = nil
	}
	return dims, known, err
}

// MapEntry decodes a map<string, message> entry: key = 1, value = 2.
func MapEntry(b []byte) (key string, value []byte, err error) {
	err = Each(b, func(f Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			key = string(f.Bytes)
		case 2:
			value = f.Bytes
		}
		return nil
	})
	return key, value, err
}
