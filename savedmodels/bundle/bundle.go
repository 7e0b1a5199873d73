// Package bundle reads TensorFlow's tensor bundles (V2 checkpoints): the
// variables.index table and the variables.data-NNNNN-of-NNNNN shards that a
// SavedModel keeps under variables/. It needs no TensorFlow.
package bundle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/table"
	"github.com/tfrun/tfrun/savedmodels/internal/wire"
	"github.com/x448/float16"
	"google.golang.org/protobuf/encoding/protowire"
)

// Entry describes one tensor of the bundle, as its index records it.
type Entry struct {
	Name    string
	DType   DType
	Shape   []int
	ShardID int
	Offset  int64
	Size    int64
	// CRC32C is TensorFlow's masked CRC-32C of the tensor's bytes.
	CRC32C uint32
	// Sliced marks a partitioned variable, whose pieces live under other
	// keys; Read rejects it.
	Sliced bool
}

// NumElements is the product of the shape; a scalar has one element.
func (e Entry) NumElements() int {
	n := 1
	for _, d := range e.Shape {
		n *= d
	}
	return n
}

// Tensor holds the values of one tensor. Exactly one of the value slices is
// set, chosen by DType: floating-point types other than float64 widen to
// Float32, integer and boolean types to Int64.
type Tensor struct {
	Name    string
	DType   DType
	Shape   []int
	Float32 []float32
	Float64 []float64
	Int64   []int64
	Strings [][]byte
}

// Bundle is an open tensor bundle. Its methods are not safe for concurrent
// use, since shards are opened on demand.
type Bundle struct {
	// Prefix is the path without the .index suffix, e.g. dir/variables/variables.
	Prefix    string
	NumShards int
	// Entries lists every tensor, sorted by name, as the index stores them.
	Entries []Entry
	byName  map[string]int
	shards  map[int]*os.File
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC32C is the checksum TensorFlow stores: the CRC-32C rotated right
// by 15 bits plus a constant, so that a checksum of data that itself holds
// checksums stays well distributed.
func MaskedCRC32C(data []byte) uint32 {
	return mask(crc32.Checksum(data, castagnoli))
}

func mask(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

// Open reads prefix.index. The data shards are opened when a tensor is read.
func Open(prefix string) (*Bundle, error) {
	path := prefix + ".index"
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("bundle: %s: %v", path, err)
	}
	b.Prefix = prefix
	return b, nil
}

// ParseIndex decodes the bytes of a .index file. The result has no Prefix, so
// it can list tensors but not read them until Prefix is set.
func ParseIndex(data []byte) (*Bundle, error) {
	if err := checkTable(data); err != nil {
		return nil, fmt.Errorf("not a tensor bundle index (a LevelDB table): %v", err)
	}
	r, err := table.NewReader(bytes.NewReader(data), int64(len(data)), storage.FileDesc{}, nil, nil, &opt.Options{})
	if err != nil {
		return nil, fmt.Errorf("not a tensor bundle index (a LevelDB table): %v", err)
	}
	defer r.Release()
	it := r.NewIterator(nil, nil)
	defer it.Release()
	b := &Bundle{byName: map[string]int{}, shards: map[int]*os.File{}}
	sawHeader := false
	for it.Next() {
		key, value := string(it.Key()), it.Value()
		if key == "" {
			shards, err := parseHeader(value)
			if err != nil {
				return nil, fmt.Errorf("bad bundle header: %v", err)
			}
			b.NumShards = shards
			sawHeader = true
			continue
		}
		e, err := parseEntry(key, value)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %v", key, err)
		}
		b.byName[key] = len(b.Entries)
		b.Entries = append(b.Entries, e)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("corrupt index: %v", err)
	}
	if !sawHeader {
		return nil, fmt.Errorf("no bundle header (the empty key is missing)")
	}
	for _, e := range b.Entries {
		if e.ShardID >= b.NumShards {
			return nil, fmt.Errorf("tensor %q is in shard %d, but the bundle has %d", e.Name, e.ShardID, b.NumShards)
		}
	}
	return b, nil
}

// maxElements bounds a tensor's claimed size, so that a corrupt shape is an
// error rather than an enormous allocation.
const maxElements = 1 << 34

// parseHeader decodes a BundleHeaderProto (num_shards = 1,
// endianness = 2) and returns the shard count.
func parseHeader(b []byte) (int, error) {
	shards, bigEndian := int64(0), false
	err := wire.Each(b, func(f wire.Field) error {
		if f.Type != protowire.VarintType {
			return nil
		}
		switch f.Num {
		case 1:
			shards = int64(int32(f.Varint))
		case 2:
			bigEndian = f.Varint != 0
		}
		return nil
	})
	switch {
	case err != nil:
		return 0, err
	case bigEndian:
		return 0, fmt.Errorf("big-endian bundles are not supported")
	case shards < 1 || shards > 1<<20:
		return 0, fmt.Errorf("bundle header claims %d shards", shards)
	}
	return int(shards), nil
}

// parseEntry decodes a BundleEntryProto: dtype = 1, shape = 2,
// shard_id = 3, offset = 4, size = 5, crc32c = 6 (fixed32), slices = 7.
func parseEntry(name string, b []byte) (Entry, error) {
	e := Entry{Name: name}
	var shape []byte
	err := wire.Each(b, func(f wire.Field) error {
		switch f.Num {
		case 1:
			e.DType = DType(int32(f.Varint))
		case 2:
			shape = f.Bytes
		case 3:
			e.ShardID = int(int32(f.Varint))
		case 4:
			e.Offset = int64(f.Varint)
		case 5:
			e.Size = int64(f.Varint)
		case 6:
			e.CRC32C = uint32(f.Fixed)
		case 7:
			e.Sliced = true
		}
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("bad entry: %v", err)
	}
	if e.ShardID < 0 || e.Offset < 0 || e.Size < 0 {
		return e, fmt.Errorf("negative shard, offset or size (%d, %d, %d)", e.ShardID, e.Offset, e.Size)
	}
	dims, known, err := wire.Shape(shape)
	if err != nil {
		return e, fmt.Errorf("bad shape: %v", err)
	}
	if !known {
		return e, fmt.Errorf("shape of unknown rank")
	}
	n := int64(1)
	for _, d := range dims {
		if d < 0 || d > maxElements {
			return e, fmt.Errorf("bad dimension %d", d)
		}
		n *= d
		if n > maxElements {
			return e, fmt.Errorf("shape %v is too large", dims)
		}
		e.Shape = append(e.Shape, int(d))
	}
	if w := elementSize(e.DType); w > 0 && !e.Sliced && n*int64(w) != e.Size {
		return e, fmt.Errorf("%s shape %v needs %d bytes, the entry says %d", e.DType, e.Shape, n*int64(w), e.Size)
	}
	return e, nil
}

// elementSize is the byte width of fixed-size types, 0 for the rest.
func elementSize(dt DType) int {
	switch dt {
	case DTBool, DTInt8, DTUint8:
		return 1
	case DTHalf, DTBfloat16, DTInt16, DTUint16:
		return 2
	case DTFloat, DTInt32, DTUint32:
		return 4
	case DTDouble, DTInt64, DTUint64:
		return 8
	}
	return 0
}

// Entry looks a tensor up by name.
func (b *Bundle) Entry(name string) (Entry, bool) {
	i, ok := b.byName[name]
	if !ok {
		return Entry{}, false
	}
	return b.Entries[i], true
}

// ShardPath names shard i the way TensorFlow does.
func (b *Bundle) ShardPath(i int) string {
	return fmt.Sprintf("%s.data-%05d-of-%05d", b.Prefix, i, b.NumShards)
}

// Read loads a tensor and checks its CRC-32C.
func (b *Bundle) Read(name string) (*Tensor, error) {
	e, ok := b.Entry(name)
	if !ok {
		return nil, fmt.Errorf("bundle %s: no tensor %q", b.Prefix, name)
	}
	if e.Sliced {
		return nil, fmt.Errorf("bundle %s: tensor %q is a partitioned variable (saved in slices), which is not supported", b.Prefix, name)
	}
	raw, err := b.readBytes(e)
	if err != nil {
		return nil, err
	}
	if got := MaskedCRC32C(raw); e.DType != DTString && got != e.CRC32C {
		return nil, fmt.Errorf("bundle %s: tensor %q: checksum mismatch (crc32c %08x, index says %08x): the data shard is corrupt", b.ShardPath(e.ShardID), name, got, e.CRC32C)
	}
	t, err := decode(e, raw)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: tensor %q: %v", b.ShardPath(e.ShardID), name, err)
	}
	return t, nil
}

func (b *Bundle) readBytes(e Entry) ([]byte, error) {
	if b.Prefix == "" {
		return nil, fmt.Errorf("bundle: tensor %q: the bundle has no path to read shards from", e.Name)
	}
	f, ok := b.shards[e.ShardID]
	if !ok {
		var err error
		if f, err = os.Open(b.ShardPath(e.ShardID)); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		b.shards[e.ShardID] = f
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if e.Offset > st.Size() || e.Size > st.Size()-e.Offset {
		return nil, fmt.Errorf("bundle %s: tensor %q: bytes %d..%d are past the end of the shard (%d bytes): the file is truncated", f.Name(), e.Name, e.Offset, e.Offset+e.Size, st.Size())
	}
	raw := make([]byte, e.Size)
	if _, err := f.ReadAt(raw, e.Offset); err != nil && err != io.EOF {
		return nil, fmt.Errorf("bundle %s: tensor %q: %v", f.Name(), e.Name, err)
	}
	return raw, nil
}

// Close closes the open shards.
func (b *Bundle) Close() error {
	var first error
	for _, f := range b.shards {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	b.shards = map[int]*os.File{}
	return first
}

func decode(e Entry, raw []byte) (*Tensor, error) {
	t := &Tensor{Name: e.Name, DType: e.DType, Shape: e.Shape}
	n := e.NumElements()
	le := binary.LittleEndian
	switch e.DType {
	case DTFloat:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case DTHalf:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = float16.Frombits(le.Uint16(raw[2*i:])).Float32()
		}
	case DTBfloat16:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
		}
	case DTDouble:
		t.Float64 = make([]float64, n)
		for i := range t.Float64 {
			t.Float64[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case DTBool, DTUint8:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(raw[i])
		}
	case DTInt8:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(int8(raw[i]))
		}
	case DTInt16:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(int16(le.Uint16(raw[2*i:])))
		}
	case DTUint16:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(le.Uint16(raw[2*i:]))
		}
	case DTInt32:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(int32(le.Uint32(raw[4*i:])))
		}
	case DTUint32:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(le.Uint32(raw[4*i:]))
		}
	case DTInt64, DTUint64:
		// uint64 values past 2^63 wrap; variables that large are not weights.
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(le.Uint64(raw[8*i:]))
		}
	case DTString:
		s, err := decodeStrings(raw, n, e.CRC32C)
		if err != nil {
			return nil, err
		}
		t.Strings = s
	default:
		return nil, fmt.Errorf("dtype %s is not supported", e.DType)
	}
	return t, nil
}

// decodeStrings splits a string tensor, stored as n varint lengths, a masked
// CRC-32C of those lengths, then the bytes. TensorFlow checksums each length
// as a little-endian uint32, not as the varint it writes, and the entry's
// checksum covers that same sequence followed by the stored length checksum
// and the bytes.
func decodeStrings(raw []byte, n int, want uint32) ([][]byte, error) {
	if n > len(raw) {
		return nil, fmt.Errorf("%d strings cannot fit in %d bytes", n, len(raw))
	}
	lengths := make([]uint64, n)
	crc := uint32(0)
	var u32 [4]byte
	p := raw
	total := uint64(0)
	for i := range lengths {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > math.MaxUint32 {
			return nil, fmt.Errorf("bad length of string %d", i)
		}
		p = p[k:]
		lengths[i] = l
		total += l
		binary.LittleEndian.PutUint32(u32[:], uint32(l))
		crc = crc32.Update(crc, castagnoli, u32[:])
	}
	if len(p) < 4 {
		return nil, fmt.Errorf("string lengths are truncated")
	}
	if stored := binary.LittleEndian.Uint32(p); stored != mask(crc) {
		return nil, fmt.Errorf("checksum mismatch in the string lengths: the data shard is corrupt")
	}
	crc = crc32.Update(crc, castagnoli, p[:4])
	p = p[4:]
	if total != uint64(len(p)) {
		return nil, fmt.Errorf("string lengths add up to %d bytes, the entry holds %d", total, len(p))
	}
	if got := mask(crc32.Update(crc, castagnoli, p)); got != want {
		return nil, fmt.Errorf("checksum mismatch (crc32c %08x, index says %08x): the data shard is corrupt", got, want)
	}
	out := make([][]byte, n)
	for i, l := range lengths {
		out[i], p = p[:l:l], p[l:]
	}
	return out, nil
}
