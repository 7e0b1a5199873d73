package bundle

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

const halfPlusTwo = "../../testdata/tf_saved_models/half_plus_two/00000123/variables/variables"

func TestHalfPlusTwo(t *testing.T) {
	b, err := Open(halfPlusTwo)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.NumShards != 1 {
		t.Errorf("NumShards = %d, want 1", b.NumShards)
	}
	want := map[string]float32{"a": 0.5, "b": 2, "c": 3}
	var names []string
	for _, e := range b.Entries {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c" {
		t.Errorf("names %s, want a,b,c", got)
	}
	for name, v := range want {
		tn, err := b.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		if tn.DType != DTFloat || len(tn.Shape) != 0 || len(tn.Float32) != 1 || tn.Float32[0] != v {
			t.Errorf("%s = %+v, want scalar float %v", name, tn, v)
		}
	}
	if _, err := b.Read("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor: err %v", err)
	}
}

// The index stores checksums that TensorFlow computed; matching them proves
// the mask (rotate right 15, add 0xa282ead8).
func TestMaskedCRCMatchesTensorFlow(t *testing.T) {
	b, err := Open(halfPlusTwo)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e, _ := b.Entry("a")
	if e.CRC32C != 522663942 {
		t.Fatalf("index crc for a = %d", e.CRC32C)
	}
	if got := MaskedCRC32C([]byte{0, 0, 0, 0x3f}); got != e.CRC32C {
		t.Errorf("MaskedCRC32C(0.5) = %d, want %d", got, e.CRC32C)
	}
}

// VarsAndArithmeticObjectGraph is a TF2 bundle: it holds the checkpoint's
// object graph as a string tensor, whose checksum scheme differs.
func TestObjectGraphStringTensor(t *testing.T) {
	b, err := Open("../../testdata/tf_saved_models/VarsAndArithmeticObjectGraph/variables/variables")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tn, err := b.Read("_CHECKPOINTABLE_OBJECT_GRAPH")
	if err != nil {
		t.Fatal(err)
	}
	if len(tn.Strings) != 1 {
		t.Fatalf("got %d strings", len(tn.Strings))
	}
	// The serialized TrackableObjectGraph names every checkpoint key.
	for _, k := range []string{"x/.ATTRIBUTES/VARIABLE_VALUE", "y/.ATTRIBUTES/VARIABLE_VALUE", "child/z/.ATTRIBUTES/VARIABLE_VALUE"} {
		if !bytes.Contains(tn.Strings[0], []byte(k)) {
			t.Errorf("object graph lacks %s", k)
		}
	}
	z, err := b.Read("child/z/.ATTRIBUTES/VARIABLE_VALUE")
	if err != nil {
		t.Fatal(err)
	}
	if z.Float32[0] != 3 {
		t.Errorf("child z = %v, want 3", z.Float32)
	}
}

func copyBundle(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{".index", ".data-00000-of-00001"} {
		data, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "variables"+suffix), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "variables")
}

func TestCorruptShardIsDetected(t *testing.T) {
	prefix := copyBundle(t, halfPlusTwo)
	shard := prefix + ".data-00000-of-00001"
	data, _ := os.ReadFile(shard)
	data[5] ^= 0x40 // inside b
	if err := os.WriteFile(shard, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Read("a"); err != nil {
		t.Errorf("a is intact but: %v", err)
	}
	_, err = b.Read("b")
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), shard) {
		t.Errorf("corrupt b: err %v, want a checksum mismatch naming %s", err, shard)
	}
}

func TestTruncatedShard(t *testing.T) {
	prefix := copyBundle(t, halfPlusTwo)
	shard := prefix + ".data-00000-of-00001"
	if err := os.Truncate(shard, 10); err != nil {
		t.Fatal(err)
	}
	b, err := Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Read("c"); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("c past the end: err %v", err)
	}
}

func TestMissingShard(t *testing.T) {
	prefix := copyBundle(t, halfPlusTwo)
	os.Remove(prefix + ".data-00000-of-00001")
	b, err := Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Read("a"); err == nil || !strings.Contains(err.Error(), "variables.data-00000-of-00001") {
		t.Errorf("missing shard: err %v", err)
	}
}

// Every prefix of a real index must fail cleanly, naming the file.
func TestTruncatedIndex(t *testing.T) {
	prefix := copyBundle(t, halfPlusTwo)
	index := prefix + ".index"
	data, _ := os.ReadFile(index)
	for n := 0; n < len(data); n++ {
		if err := os.WriteFile(index, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(prefix)
		if err == nil {
			t.Fatalf("index cut to %d of %d bytes opened without error", n, len(data))
		}
		if !strings.Contains(err.Error(), index) {
			t.Fatalf("error %q does not name %s", err, index)
		}
	}
}

func TestDecodeTypes(t *testing.T) {
	cases := []struct {
		dt    DType
		raw   []byte
		check func(*Tensor) bool
	}{
		{DTDouble, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}, func(t *Tensor) bool { return t.Float64[0] == 1.5 }},
		{DTHalf, []byte{0x00, 0x3e}, func(t *Tensor) bool { return t.Float32[0] == 1.5 }},
		{DTBfloat16, []byte{0xc0, 0x3f}, func(t *Tensor) bool { return t.Float32[0] == 1.5 }},
		{DTInt32, []byte{0xfe, 0xff, 0xff, 0xff}, func(t *Tensor) bool { return t.Int64[0] == -2 }},
		{DTInt8, []byte{0xfe}, func(t *Tensor) bool { return t.Int64[0] == -2 }},
		{DTUint16, []byte{0xfe, 0xff}, func(t *Tensor) bool { return t.Int64[0] == 65534 }},
		{DTBool, []byte{1}, func(t *Tensor) bool { return t.Int64[0] == 1 }},
	}
	for _, c := range cases {
		tn, err := decode(Entry{Name: "x", DType: c.dt, Size: int64(len(c.raw))}, c.raw)
		if err != nil {
			t.Errorf("%s: %v", c.dt, err)
			continue
		}
		if !c.check(tn) {
			t.Errorf("%s: wrong value %+v", c.dt, tn)
		}
	}
	if _, err := decode(Entry{Name: "x", DType: DTComplex64}, make([]byte, 8)); err == nil {
		t.Error("complex64 decoded without error")
	}
}

// entryBytes encodes a BundleEntryProto with a float dtype and a shape.
func entryBytes(size int64, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		dim := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(d))
		shape = protowire.AppendBytes(protowire.AppendTag(shape, 2, protowire.BytesType), dim)
	}
	b := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(DTFloat))
	b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), shape)
	return protowire.AppendVarint(protowire.AppendTag(b, 5, protowire.VarintType), uint64(size))
}

func TestEntryValidation(t *testing.T) {
	e, err := parseEntry("w", entryBytes(24, 2, 3))
	if err != nil || e.DType != DTFloat || e.NumElements() != 6 || e.Size != 24 {
		t.Errorf("good entry: %+v, %v", e, err)
	}
	if _, err := parseEntry("w", entryBytes(20, 2, 3)); err == nil || !strings.Contains(err.Error(), "needs 24 bytes") {
		t.Errorf("size mismatch: %v", err)
	}
	if _, err := parseEntry("w", entryBytes(4, 1<<20, 1<<20, 1<<20)); err == nil {
		t.Error("huge shape accepted")
	}
	if _, err := parseEntry("w", entryBytes(4, -3)); err == nil {
		t.Error("negative dimension accepted")
	}
	if _, err := parseEntry("w", []byte{0x0a, 0x05, 0x01}); err == nil {
		t.Error("truncated entry accepted")
	}
}

func TestDTypeNames(t *testing.T) {
	for d, want := range map[DType]string{DTFloat: "DT_FLOAT", DTInt64: "DT_INT64", DTString: "DT_STRING", DTFloat + 100: "DT_FLOAT_REF", 77: "DT_77"} {
		if d.String() != want {
			t.Errorf("%d prints as %s, want %s", int32(d), d, want)
		}
	}
}

// goleveldb v1.0.0 allocates a block's claimed length before reading it:
// this 151-byte index, whose footer claims a 4 TB index block, made the
// process die of an out-of-memory fatal error before checkTable. The same
// bytes are a seed of FuzzIndex (testdata/fuzz/FuzzIndex/huge_block_handle).
func TestHugeBlockHandle(t *testing.T) {
	data, err := os.ReadFile(halfPlusTwo + ".index")
	if err != nil {
		t.Fatal(err)
	}
	var footer [footerLen]byte
	n := binary.PutUvarint(footer[:], 71) // the real metaindex block
	n += binary.PutUvarint(footer[n:], 8)
	n += binary.PutUvarint(footer[n:], 84) // the index block, 4 TB long
	binary.PutUvarint(footer[n:], 1<<42)
	copy(footer[40:], tableMagic)
	bad := append(append([]byte(nil), data[:len(data)-footerLen]...), footer[:]...)
	if _, err := ParseIndex(bad); err == nil || !strings.Contains(err.Error(), "past the end") {
		t.Errorf("huge index block: %v", err)
	}
	data[10] ^= 1 // inside the data block
	if _, err := ParseIndex(data); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("flipped bit in a data block: %v", err)
	}
}
