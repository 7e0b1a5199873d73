package bundle

import "fmt"

// DType is TensorFlow's DataType enum (tensorflow/core/framework/types.proto).
type DType int32

// The data types a bundle can hold.
const (
	DTInvalid    DType = 0
	DTFloat      DType = 1
	DTDouble     DType = 2
	DTInt32      DType = 3
	DTUint8      DType = 4
	DTInt16      DType = 5
	DTInt8       DType = 6
	DTString     DType = 7
	DTComplex64  DType = 8
	DTInt64      DType = 9
	DTBool       DType = 10
	DTQint8      DType = 11
	DTQuint8     DType = 12
	DTQint32     DType = 13
	DTBfloat16   DType = 14
	DTQint16     DType = 15
	DTQuint16    DType = 16
	DTUint16     DType = 17
	DTComplex128 DType = 18
	DTHalf       DType = 19
	DTResource   DType = 20
	DTVariant    DType = 21
	DTUint32     DType = 22
	DTUint64     DType = 23
)

var dtypeNames = map[DType]string{
	DTInvalid: "DT_INVALID", DTFloat: "DT_FLOAT", DTDouble: "DT_DOUBLE", DTInt32: "DT_INT32",
	DTUint8: "DT_UINT8", DTInt16: "DT_INT16", DTInt8: "DT_INT8", DTString: "DT_STRING",
	DTComplex64: "DT_COMPLEX64", DTInt64: "DT_INT64", DTBool: "DT_BOOL", DTQint8: "DT_QINT8",
	DTQuint8: "DT_QUINT8", DTQint32: "DT_QINT32", DTBfloat16: "DT_BFLOAT16", DTQint16: "DT_QINT16",
	DTQuint16: "DT_QUINT16", DTUint16: "DT_UINT16", DTComplex128: "DT_COMPLEX128", DTHalf: "DT_HALF",
	DTResource: "DT_RESOURCE", DTVariant: "DT_VARIANT", DTUint32: "DT_UINT32", DTUint64: "DT_UINT64",
}

// String gives TensorFlow's name, e.g. DT_FLOAT.
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	if d > 100 && d-100 != DTInvalid {
		// Reference types are the base type plus 100.
		if s, ok := dtypeNames[d-100]; ok {
			return s + "_REF"
		}
	}
	return fmt.Sprintf("DT_%d", int32(d))
}
