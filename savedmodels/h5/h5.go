// Package h5 reads the subset of HDF5 that Keras files use: groups, string
// attributes (fixed or variable length) and uncompressed numeric datasets.
// It is pure Go, so tfrun reads .h5 models where cgo is off.
//
// Two existing readers were measured on damaged copies of mnist.h5 first.
// A pure-Go HDF5 module asked for a 240 TB allocation, which kills a Go
// process outright; libhdf5 1.10 (through cgo) looped for minutes inside
// H5Aread. This reader bounds every offset, size and count by the file, so
// damage gives an error.
package h5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/x448/float16"
)

var signature = []byte("\x89HDF\r\n\x1a\n")

// File is an open HDF5 file. It is not safe for concurrent use.
type File struct {
	path    string
	r       io.ReaderAt
	closer  io.Closer
	size    uint64
	base    uint64
	offSize int // "size of offsets": bytes in an address
	lenSize int // "size of lengths"
	root    uint64
	// budget and byteBudget bound the structures one call may visit and
	// the bytes it may read, so that a corrupt file whose B-tree or
	// continuation chain loops cannot hang a call.
	budget     int
	byteBudget uint64
}

// Open opens path read-only.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("h5: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("h5: %w", err)
	}
	if st.IsDir() {
		fh.Close()
		return nil, fmt.Errorf("h5: %s is a folder, not an HDF5 file", path)
	}
	f, err := newFile(path, fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// OpenBytes reads an HDF5 file held in memory; name is used in messages.
func OpenBytes(name string, data []byte) (*File, error) {
	return newFile(name, bytes.NewReader(data), int64(len(data)))
}

// Close releases the file.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

func newFile(path string, r io.ReaderAt, size int64) (*File, error) {
	f := &File{path: path, r: r, size: uint64(size)}
	f.resetBudget()
	// The superblock sits at 0, or after a user block at 512, 1024, 2048...
	at := uint64(0)
	for ; at+8 <= f.size; at = max(512, at*2) {
		sig := make([]byte, 8)
		if _, err := r.ReadAt(sig, int64(at)); err != nil {
			return nil, fmt.Errorf("h5: %s: %v", path, err)
		}
		if bytes.Equal(sig, signature) {
			break
		}
	}
	if at+8 > f.size {
		return nil, fmt.Errorf("h5: %s is not an HDF5 file (no HDF5 signature)", path)
	}
	if err := f.superblock(at); err != nil {
		return nil, fmt.Errorf("h5: %s: superblock: %v", path, err)
	}
	return f, nil
}

func (f *File) superblock(at uint64) error {
	head, err := f.read(at, 16)
	if err != nil {
		return err
	}
	version := head[8]
	var p *parser
	switch version {
	case 0, 1:
		f.offSize, f.lenSize = int(head[13]), int(head[14])
		if err := f.checkSizes(); err != nil {
			return err
		}
		n := 24 + 4*f.offSize + 2*f.offSize + 24
		if version == 1 {
			n += 4
		}
		if p, err = f.parserAt(at, n); err != nil {
			return err
		}
		p.skip(24)
		if version == 1 {
			p.skip(4)
		}
		f.base = p.offset()
		p.skip(3 * f.offSize) // free space, end of file, driver info
		p.skip(f.offSize)     // root entry's link name
		f.root = p.offset()
	case 2, 3:
		f.offSize, f.lenSize = int(head[9]), int(head[10])
		if err := f.checkSizes(); err != nil {
			return err
		}
		if p, err = f.parserAt(at, 12+4*f.offSize); err != nil {
			return err
		}
		p.skip(12)
		f.base = p.offset()
		p.skip(2 * f.offSize) // extension, end of file
		f.root = p.offset()
	default:
		return fmt.Errorf("version %d is not supported", version)
	}
	if p.err != nil {
		return p.err
	}
	if f.base > f.size {
		return fmt.Errorf("base address %d is past the end", f.base)
	}
	return nil
}

func (f *File) checkSizes() error {
	for _, s := range []int{f.offSize, f.lenSize} {
		if s != 2 && s != 4 && s != 8 {
			return fmt.Errorf("address or length size %d is not 2, 4 or 8", s)
		}
	}
	return nil
}

// undefined is the all-ones address HDF5 writes for "none".
func (f *File) undefined(a uint64) bool {
	return a == math.MaxUint64>>(64-8*uint(f.offSize))
}

// read returns n bytes at file address a (relative to the base address).
func (f *File) read(a uint64, n int) ([]byte, error) {
	abs := a + f.base
	if n < 0 || abs < a || abs > f.size || uint64(n) > f.size-abs {
		return nil, fmt.Errorf("%d bytes at address %d are past the end of the file (%d bytes): truncated or corrupt", n, a, f.size)
	}
	if uint64(n) > f.byteBudget {
		return nil, errors.New("too much metadata read: the file's structures loop or are corrupt")
	}
	f.byteBudget -= uint64(n)
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(abs)); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func (f *File) parserAt(a uint64, n int) (*parser, error) {
	b, err := f.read(a, n)
	if err != nil {
		return nil, err
	}
	return &parser{b: b, f: f}, nil
}

// spend charges one visited structure against the call's budget.
func (f *File) spend() error {
	f.budget--
	if f.budget < 0 {
		return errors.New("too many structures visited: the file's metadata loops or is corrupt")
	}
	return nil
}

// resetBudget starts a call: legitimate reads visit each structure once,
// so twice the file plus some slack is never reached.
func (f *File) resetBudget() {
	f.budget = 1 << 16
	f.byteBudget = 2*f.size + 1<<20
}

// parser reads little-endian fields from a byte slice; past the end it
// records an error and returns zeros, so field-by-field code stays flat.
type parser struct {
	b   []byte
	pos int
	err error
	f   *File
}

func (p *parser) take(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n < 0 || n > len(p.b)-p.pos {
		p.err = errors.New("structure is truncated or corrupt")
		return nil
	}
	b := p.b[p.pos : p.pos+n]
	p.pos += n
	return b
}

func (p *parser) skip(n int) { p.take(n) }

func (p *parser) u8() uint8 {
	if b := p.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (p *parser) u16() uint16 {
	if b := p.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (p *parser) u32() uint32 {
	if b := p.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (p *parser) uint(n int) uint64 {
	b := p.take(n)
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func (p *parser) offset() uint64 { return p.uint(p.f.offSize) }
func (p *parser) length() uint64 { return p.uint(p.f.lenSize) }

func (p *parser) remaining() int { return len(p.b) - p.pos }

// Header message types used here.
const (
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgLink         = 0x06
	msgLayout       = 0x08
	msgAttribute    = 0x0c
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// maxHeaderBlock bounds one object header block; real ones are kilobytes.
const maxHeaderBlock = 1 << 24

// header reads the messages of the object header at a, following
// continuation blocks, for version 1 and version 2 ("OHDR") headers.
func (f *File) header(a uint64) ([]message, error) {
	if err := f.spend(); err != nil {
		return nil, err
	}
	first, err := f.read(a, 4)
	if err != nil {
		return nil, err
	}
	if string(first) == "OHDR" {
		return f.headerV2(a)
	}
	if first[0] != 1 {
		return nil, fmt.Errorf("object header at %d has version %d (corrupt?)", a, first[0])
	}
	p, err := f.parserAt(a, 16)
	if err != nil {
		return nil, err
	}
	p.skip(2)
	count := int(p.u16())
	p.skip(4)
	size := p.u32()
	if size > maxHeaderBlock {
		return nil, fmt.Errorf("object header at %d claims %d bytes", a, size)
	}
	var msgs []message
	blocks := [][2]uint64{{a + 16, uint64(size)}}
	for len(blocks) > 0 && len(msgs) < count {
		blk := blocks[0]
		blocks = blocks[1:]
		if err := f.spend(); err != nil {
			return nil, err
		}
		bp, err := f.parserAt(blk[0], int(blk[1]))
		if err != nil {
			return nil, err
		}
		for bp.remaining() >= 8 && len(msgs) < count {
			typ, n, flags := bp.u16(), int(bp.u16()), bp.u8()
			bp.skip(3)
			data := bp.take(n)
			if bp.err != nil {
				return nil, fmt.Errorf("object header at %d: message runs past its block", a)
			}
			msgs = append(msgs, message{typ, flags, data})
			if typ == msgContinuation {
				c, err := f.continuation(data)
				if err != nil {
					return nil, err
				}
				blocks = append(blocks, c)
			}
		}
	}
	return msgs, nil
}

func (f *File) continuation(data []byte) ([2]uint64, error) {
	cp := &parser{b: data, f: f}
	at, n := cp.offset(), cp.length()
	if cp.err != nil || n > maxHeaderBlock {
		return [2]uint64{}, errors.New("bad object header continuation")
	}
	return [2]uint64{at, n}, nil
}

func (f *File) headerV2(a uint64) ([]message, error) {
	p, err := f.parserAt(a, 6)
	if err != nil {
		return nil, err
	}
	p.skip(4)
	if v := p.u8(); v != 2 {
		return nil, fmt.Errorf("object header at %d has version %d", a, v)
	}
	flags := p.u8()
	pre := 6
	if flags&0x20 != 0 {
		pre += 16 // access, modification, change and birth times
	}
	if flags&0x10 != 0 {
		pre += 4 // attribute storage phase change values
	}
	sizeLen := 1 << (flags & 3)
	hp, err := f.parserAt(a, pre+sizeLen)
	if err != nil {
		return nil, err
	}
	hp.skip(pre)
	size := hp.uint(sizeLen)
	if size > maxHeaderBlock {
		return nil, fmt.Errorf("object header at %d claims %d bytes", a, size)
	}
	msgHead := 4
	if flags&0x04 != 0 {
		msgHead += 2 // creation order
	}
	var msgs []message
	blocks := [][2]uint64{{a + uint64(pre+sizeLen), size}}
	for len(blocks) > 0 {
		blk := blocks[0]
		blocks = blocks[1:]
		if err := f.spend(); err != nil {
			return nil, err
		}
		bp, err := f.parserAt(blk[0], int(blk[1]))
		if err != nil {
			return nil, err
		}
		// Continuation blocks start with "OCHK"; every block ends with a
		// checksum, and a gap shorter than a message header may precede it.
		if blk[0] != a+uint64(pre+sizeLen) {
			if string(bp.take(4)) != "OCHK" {
				return nil, fmt.Errorf("object header at %d: continuation block lacks its signature", a)
			}
			bp.b = bp.b[:max(bp.pos, len(bp.b)-4)]
		}
		for bp.remaining() >= msgHead {
			typ, n, mflags := uint16(bp.u8()), int(bp.u16()), bp.u8()
			bp.skip(msgHead - 4)
			data := bp.take(n)
			if bp.err != nil {
				return nil, fmt.Errorf("object header at %d: message runs past its block", a)
			}
			msgs = append(msgs, message{typ, mflags, data})
			if typ == msgContinuation {
				c, err := f.continuation(data)
				if err != nil {
					return nil, err
				}
				blocks = append(blocks, c)
			}
		}
	}
	return msgs, nil
}

// lookup resolves an absolute path such as /model_weights/dense_1 to the
// address of its object header.
func (f *File) lookup(path string) (uint64, error) {
	a := f.root
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		if name == "" {
			continue
		}
		msgs, err := f.header(a)
		if err != nil {
			return 0, err
		}
		child, found, err := f.child(msgs, name)
		if err != nil {
			return 0, err
		}
		if !found {
			return 0, errNotFound
		}
		a = child
	}
	return a, nil
}

var errNotFound = errors.New("not found")

// child finds a link in a group: old-style groups keep their links in a
// B-tree of symbol table nodes with names in a local heap; new-style ones
// in link messages.
func (f *File) child(msgs []message, name string) (uint64, bool, error) {
	for _, m := range msgs {
		switch m.typ {
		case msgSymbolTable:
			p := &parser{b: m.data, f: f}
			btree, heap := p.offset(), p.offset()
			if p.err != nil {
				return 0, false, errors.New("bad symbol table message")
			}
			names, err := f.localHeap(heap)
			if err != nil {
				return 0, false, err
			}
			return f.searchBTree(btree, names, name, 0)
		case msgLink:
			lname, target, hard, err := f.link(m.data)
			if err != nil {
				return 0, false, err
			}
			if lname == name {
				if !hard {
					return 0, false, fmt.Errorf("%s is a soft or external link, which is not supported", name)
				}
				return target, true, nil
			}
		case msgLinkInfo:
			p := &parser{b: m.data, f: f}
			p.skip(1)
			if p.u8()&1 != 0 {
				p.skip(8)
			}
			if heap := p.offset(); p.err == nil && !f.undefined(heap) {
				return 0, false, errors.New("group keeps its links in dense storage (a fractal heap), which is not supported")
			}
		}
	}
	return 0, false, nil
}

func (f *File) link(data []byte) (name string, target uint64, hard bool, err error) {
	p := &parser{b: data, f: f}
	if p.u8() != 1 {
		return "", 0, false, errors.New("bad link message version")
	}
	flags := p.u8()
	typ := uint8(0)
	if flags&0x08 != 0 {
		typ = p.u8()
	}
	if flags&0x04 != 0 {
		p.skip(8)
	}
	if flags&0x10 != 0 {
		p.skip(1)
	}
	n := p.uint(1 << (flags & 3))
	if n > uint64(p.remaining()) {
		return "", 0, false, errors.New("bad link message")
	}
	name = string(p.take(int(n)))
	if typ == 0 {
		target = p.offset()
	}
	if p.err != nil {
		return "", 0, false, errors.New("bad link message")
	}
	return name, target, typ == 0, nil
}

// localHeap returns the data segment of the local heap at a, where
// old-style groups keep their link names.
func (f *File) localHeap(a uint64) ([]byte, error) {
	p, err := f.parserAt(a, 8+2*f.lenSize+f.offSize)
	if err != nil {
		return nil, err
	}
	if string(p.take(4)) != "HEAP" {
		return nil, fmt.Errorf("no local heap at %d (corrupt group)", a)
	}
	p.skip(4)
	size := p.length()
	p.skip(f.lenSize)
	data := p.offset()
	if size > f.size {
		return nil, fmt.Errorf("local heap at %d claims %d bytes", a, size)
	}
	return f.read(data, int(size))
}

func heapString(heap []byte, off uint64) (string, error) {
	if off >= uint64(len(heap)) {
		return "", errors.New("link name is outside the group's heap")
	}
	s := heap[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s), nil
}

// searchBTree walks a version 1 group B-tree at a; its leaves point to
// symbol table nodes ("SNOD"), whose entries name the group's members.
func (f *File) searchBTree(a uint64, heap []byte, name string, depth int) (uint64, bool, error) {
	if depth > 32 {
		return 0, false, errors.New("group B-tree is too deep (corrupt)")
	}
	if err := f.spend(); err != nil {
		return 0, false, err
	}
	head, err := f.parserAt(a, 8+2*f.offSize)
	if err != nil {
		return 0, false, err
	}
	if string(head.take(4)) != "TREE" || head.u8() != 0 {
		return 0, false, fmt.Errorf("no group B-tree node at %d (corrupt group)", a)
	}
	level := head.u8()
	used := int(head.u16())
	entry := f.lenSize + f.offSize
	p, err := f.parserAt(a+uint64(8+2*f.offSize), used*entry+f.lenSize)
	if err != nil {
		return 0, false, err
	}
	for i := 0; i < used; i++ {
		p.skip(f.lenSize)
		child := p.offset()
		var (
			target uint64
			found  bool
		)
		if level > 0 {
			target, found, err = f.searchBTree(child, heap, name, depth+1)
		} else {
			target, found, err = f.searchSymbols(child, heap, name)
		}
		if err != nil || found {
			return target, found, err
		}
	}
	return 0, false, nil
}

func (f *File) searchSymbols(a uint64, heap []byte, name string) (uint64, bool, error) {
	if err := f.spend(); err != nil {
		return 0, false, err
	}
	head, err := f.parserAt(a, 8)
	if err != nil {
		return 0, false, err
	}
	if string(head.take(4)) != "SNOD" {
		return 0, false, fmt.Errorf("no symbol table node at %d (corrupt group)", a)
	}
	head.skip(2)
	n := int(head.u16())
	entry := 2*f.offSize + 24
	p, err := f.parserAt(a+8, n*entry)
	if err != nil {
		return 0, false, err
	}
	for i := 0; i < n; i++ {
		nameOff, obj := p.offset(), p.offset()
		p.skip(24)
		s, err := heapString(heap, nameOff)
		if err != nil {
			return 0, false, err
		}
		if s == name {
			return obj, true, nil
		}
	}
	return 0, false, nil
}

// datatype is the part of an HDF5 datatype message this reader handles.
type datatype struct {
	class     uint8
	size      int
	bigEndian bool
	signed    bool
	spacePad  bool
	vlenStr   bool
}

const (
	classFixed  = 0
	classFloat  = 1
	classString = 3
	classVLen   = 9
)

func parseDatatype(b []byte) (datatype, error) {
	p := &parser{b: b}
	cv := p.u8()
	bits := p.take(3)
	size := p.u32()
	if p.err != nil {
		return datatype{}, errors.New("datatype is truncated")
	}
	dt := datatype{class: cv & 0x0f, size: int(size)}
	switch dt.class {
	case classFixed:
		dt.bigEndian, dt.signed = bits[0]&1 != 0, bits[0]&8 != 0
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return dt, fmt.Errorf("%d-byte integers are not supported", size)
		}
	case classFloat:
		dt.bigEndian = bits[0]&1 != 0
		if bits[0]&0x40 != 0 || (size != 2 && size != 4 && size != 8) {
			return dt, fmt.Errorf("this %d-byte floating-point format is not supported", size)
		}
	case classString:
		dt.spacePad = bits[0]&0x0f == 2
	case classVLen:
		if bits[0]&0x0f != 1 {
			return dt, errors.New("variable-length sequences other than strings are not supported")
		}
		dt.vlenStr = true
	default:
		return dt, fmt.Errorf("datatype class %d is not supported", dt.class)
	}
	return dt, nil
}

// parseDataspace returns the dimensions; a scalar has none. Null dataspaces
// hold no elements, reported as one zero dimension.
func (f *File) parseDataspace(b []byte) ([]uint64, error) {
	p := &parser{b: b, f: f}
	version, rank := p.u8(), int(p.u8())
	p.skip(1) // flags: whether maximum dimensions follow, which do not matter here
	switch version {
	case 1:
		p.skip(5)
	case 2:
		if typ := p.u8(); typ == 2 {
			return []uint64{0}, nil
		}
	default:
		return nil, fmt.Errorf("dataspace version %d is not supported", version)
	}
	if rank > 32 {
		return nil, fmt.Errorf("dataspace of rank %d (corrupt)", rank)
	}
	dims := make([]uint64, rank)
	for i := range dims {
		dims[i] = p.length()
	}
	if p.err != nil {
		return nil, errors.New("dataspace is truncated")
	}
	return dims, nil
}

// count multiplies dimensions, refusing products larger than the file
// could hold at one byte per element.
func (f *File) count(dims []uint64) (int, error) {
	n := uint64(1)
	for _, d := range dims {
		if d != 0 && n > f.size/d {
			return 0, fmt.Errorf("shape %v holds more elements than the file has bytes (corrupt)", dims)
		}
		n *= d
	}
	return int(n), nil
}

// attribute is a decoded attribute message.
type attribute struct {
	name  string
	dt    datatype
	dtErr error
	dims  []uint64
	data  []byte
}

func (f *File) parseAttribute(b []byte) (attribute, error) {
	p := &parser{b: b, f: f}
	version := p.u8()
	flags := p.u8()
	nameLen, dtLen, dsLen := int(p.u16()), int(p.u16()), int(p.u16())
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2:
	case 3:
		p.skip(1) // name encoding
	default:
		return attribute{}, fmt.Errorf("attribute message version %d is not supported", version)
	}
	if flags&3 != 0 {
		return attribute{}, errors.New("shared datatypes in attributes are not supported")
	}
	name := p.take(pad(nameLen))
	dtb := p.take(pad(dtLen))
	dsb := p.take(pad(dsLen))
	if p.err != nil || nameLen > len(name) || dtLen > len(dtb) || dsLen > len(dsb) {
		return attribute{}, errors.New("attribute message is truncated")
	}
	a := attribute{name: string(bytes.TrimRight(name[:nameLen], "\x00")), data: p.b[p.pos:]}
	a.dt, a.dtErr = parseDatatype(dtb[:dtLen])
	dims, err := f.parseDataspace(dsb[:dsLen])
	if err != nil {
		return a, fmt.Errorf("attribute %s: %v", a.name, err)
	}
	a.dims = dims
	return a, nil
}

// findAttribute looks for attribute name among an object's messages.
func (f *File) findAttribute(msgs []message, name string) (attribute, bool, error) {
	dense := false
	for _, m := range msgs {
		switch m.typ {
		case msgAttribute:
			a, err := f.parseAttribute(m.data)
			if err != nil {
				return a, false, err
			}
			if a.name == name {
				return a, true, nil
			}
		case msgAttrInfo:
			p := &parser{b: m.data, f: f}
			p.skip(1)
			if p.u8()&1 != 0 {
				p.skip(2)
			}
			if heap := p.offset(); p.err == nil && !f.undefined(heap) {
				dense = true
			}
		}
	}
	if dense {
		return attribute{}, false, fmt.Errorf("attribute %s may be in dense attribute storage (a fractal heap), which is not supported", name)
	}
	return attribute{}, false, nil
}

func (f *File) object(path string) ([]message, error) {
	f.resetBudget()
	a, err := f.lookup(path)
	if err != nil {
		return nil, err
	}
	return f.header(a)
}

// HasAttr reports whether object obj has attribute name; damaged metadata
// reads as absent.
func (f *File) HasAttr(obj, name string) bool {
	msgs, err := f.object(obj)
	if err != nil {
		return false
	}
	_, found, err := f.findAttribute(msgs, name)
	return found && err == nil
}

// StringsAttr reads a string attribute of object obj (a group or dataset
// path) as a list: a scalar gives one string. An empty attribute of any
// type gives an empty list, since Keras writes empty weight lists as empty
// float arrays.
func (f *File) StringsAttr(obj, name string) ([]string, error) {
	where := fmt.Sprintf("h5: %s: attribute %s of %s", f.path, name, obj)
	msgs, err := f.object(obj)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("h5: %s: no object %s", f.path, obj)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	a, found, err := f.findAttribute(msgs, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	if !found {
		return nil, fmt.Errorf("%s: missing", where)
	}
	n, err := f.count(a.dims)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	if n == 0 {
		return []string{}, nil
	}
	if a.dtErr != nil {
		return nil, fmt.Errorf("%s: %v", where, a.dtErr)
	}
	out, err := f.strings(a.dt, a.data, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	return out, nil
}

func (f *File) strings(dt datatype, data []byte, n int) ([]string, error) {
	out := make([]string, n)
	switch {
	case dt.class == classString:
		if dt.size <= 0 || n > len(data)/dt.size {
			return nil, fmt.Errorf("%d strings of %d bytes do not fit in %d bytes", n, dt.size, len(data))
		}
		for i := range out {
			s := data[i*dt.size : (i+1)*dt.size]
			if j := bytes.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			if dt.spacePad {
				s = bytes.TrimRight(s, " ")
			}
			out[i] = string(s)
		}
	case dt.vlenStr:
		// Each element is a length, then a global heap ID: the address of
		// a heap collection and an object index within it.
		p := &parser{b: data, f: f}
		heaps := map[uint64]map[uint32][]byte{}
		for i := range out {
			length, coll, index := p.u32(), p.offset(), p.u32()
			if p.err != nil {
				return nil, errors.New("variable-length string data is truncated")
			}
			if length == 0 {
				continue
			}
			objs, ok := heaps[coll]
			if !ok {
				var err error
				if objs, err = f.globalHeap(coll); err != nil {
					return nil, err
				}
				heaps[coll] = objs
			}
			s, ok := objs[index]
			if !ok || uint64(length) > uint64(len(s)) {
				return nil, fmt.Errorf("string %d is missing from the global heap at %d", i, coll)
			}
			out[i] = string(s[:length])
		}
	default:
		return nil, errors.New("not a string")
	}
	return out, nil
}

// globalHeap reads the objects of the global heap collection at a.
func (f *File) globalHeap(a uint64) (map[uint32][]byte, error) {
	head, err := f.parserAt(a, 8+f.lenSize)
	if err != nil {
		return nil, err
	}
	if string(head.take(4)) != "GCOL" {
		return nil, fmt.Errorf("no global heap at %d (corrupt)", a)
	}
	head.skip(4)
	size := head.length()
	if size < uint64(8+f.lenSize) || size > f.size {
		return nil, fmt.Errorf("global heap at %d claims %d bytes", a, size)
	}
	p, err := f.parserAt(a, int(size))
	if err != nil {
		return nil, err
	}
	p.skip(8 + f.lenSize)
	objs := map[uint32][]byte{}
	for p.remaining() >= 8+f.lenSize {
		index := p.u16()
		p.skip(6)
		n := p.length()
		if index == 0 { // free space runs to the end
			break
		}
		if n > uint64(p.remaining()) {
			return nil, fmt.Errorf("global heap at %d: object %d runs past the heap", a, index)
		}
		objs[uint32(index)] = p.take(int(n))
		p.skip(min(int((n+7)&^7-n), p.remaining()))
	}
	return objs, nil
}

// ReadFloat32 reads a floating-point or integer dataset, converted to
// float32, with its shape.
func (f *File) ReadFloat32(path string) ([]float32, []int, error) {
	where := fmt.Sprintf("h5: %s: dataset %s", f.path, path)
	msgs, err := f.object(path)
	if errors.Is(err, errNotFound) {
		return nil, nil, fmt.Errorf("%s: missing", where)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", where, err)
	}
	data, shape, err := f.dataset(msgs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", where, err)
	}
	return data, shape, nil
}

func (f *File) dataset(msgs []message) ([]float32, []int, error) {
	var (
		dt                       datatype
		dims                     []uint64
		layout                   []byte
		haveDT, haveDims, haveLy bool
	)
	for _, m := range msgs {
		var err error
		switch m.typ {
		case msgDatatype:
			if m.flags&2 != 0 {
				return nil, nil, errors.New("shared (committed) datatypes are not supported")
			}
			dt, err = parseDatatype(m.data)
			haveDT = true
		case msgDataspace:
			dims, err = f.parseDataspace(m.data)
			haveDims = true
		case msgLayout:
			layout, haveLy = m.data, true
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if !haveDT || !haveDims || !haveLy {
		return nil, nil, errors.New("not a dataset (no datatype, dataspace or layout)")
	}
	if dt.class != classFixed && dt.class != classFloat {
		return nil, nil, errors.New("not numeric")
	}
	n, err := f.count(dims)
	if err != nil {
		return nil, nil, err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
	}
	want := n * dt.size
	raw, err := f.layoutBytes(layout, want)
	if err != nil {
		return nil, nil, err
	}
	return convert(dt, raw, n), shape, nil
}

// layoutBytes returns the want bytes of a compact or contiguous dataset.
func (f *File) layoutBytes(b []byte, want int) ([]byte, error) {
	p := &parser{b: b, f: f}
	version, class := p.u8(), p.u8()
	if version != 3 && version != 4 {
		return nil, fmt.Errorf("data layout version %d is not supported", version)
	}
	switch class {
	case 0: // compact: the data is in the header
		n := int(p.u16())
		raw := p.take(n)
		if p.err != nil || n != want {
			return nil, fmt.Errorf("compact data holds %d bytes, the shape needs %d", n, want)
		}
		return raw, nil
	case 1:
		a, n := p.offset(), p.length()
		if p.err != nil {
			return nil, errors.New("data layout is truncated")
		}
		if want == 0 {
			return nil, nil
		}
		if f.undefined(a) {
			return nil, errors.New("no data was ever written (storage not allocated)")
		}
		if n != uint64(want) {
			return nil, fmt.Errorf("contiguous storage holds %d bytes, the shape needs %d", n, want)
		}
		return f.read(a, want)
	case 2:
		return nil, errors.New("chunked (possibly compressed) datasets are not supported; Keras writes contiguous ones")
	}
	return nil, fmt.Errorf("data layout class %d is not supported", class)
}

func convert(dt datatype, raw []byte, n int) []float32 {
	out := make([]float32, n)
	var order binary.ByteOrder = binary.LittleEndian
	if dt.bigEndian {
		order = binary.BigEndian
	}
	for i := range out {
		b := raw[i*dt.size : (i+1)*dt.size]
		switch {
		case dt.class == classFloat && dt.size == 4:
			out[i] = math.Float32frombits(order.Uint32(b))
		case dt.class == classFloat && dt.size == 8:
			out[i] = float32(math.Float64frombits(order.Uint64(b)))
		case dt.class == classFloat:
			out[i] = float16.Frombits(order.Uint16(b)).Float32()
		case dt.size == 1 && dt.signed:
			out[i] = float32(int8(b[0]))
		case dt.size == 1:
			out[i] = float32(b[0])
		case dt.size == 2 && dt.signed:
			out[i] = float32(int16(order.Uint16(b)))
		case dt.size == 2:
			out[i] = float32(order.Uint16(b))
		case dt.size == 4 && dt.signed:
			out[i] = float32(int32(order.Uint32(b)))
		case dt.size == 4:
			out[i] = float32(order.Uint32(b))
		case dt.signed:
			out[i] = float32(int64(order.Uint64(b)))
		default:
			out[i] = float32(order.Uint64(b))
		}
	}
	return out
}
