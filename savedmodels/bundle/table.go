package bundle

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// LevelDB table layout, as TensorFlow writes it for bundle indexes.
const (
	footerLen    = 48
	blockTrailer = 5 // a type byte, then a masked CRC-32C
	tableMagic   = "\x57\xfb\x80\x8b\x24\x75\x47\xdb"
)

// checkTable vets every block handle before goleveldb sees the table:
// goleveldb allocates a block's claimed length (or its snappy-decoded
// length) before reading it, so one corrupt varint would ask for terabytes.
// TensorFlow writes bundle indexes uncompressed, so compressed blocks are
// refused; with every block inside the file, no allocation can exceed it.
func checkTable(data []byte) error {
	if len(data) < footerLen {
		return fmt.Errorf("%d bytes is too short for a table (the footer alone is %d): truncated", len(data), footerLen)
	}
	end := len(data) - footerLen
	footer := data[end:]
	if string(footer[footerLen-len(tableMagic):]) != tableMagic {
		return errors.New("bad magic number at the end: truncated, or not an index")
	}
	meta, n := blockHandle(footer)
	if n == 0 {
		return errors.New("bad metaindex block handle")
	}
	index, m := blockHandle(footer[n:])
	if m == 0 {
		return errors.New("bad index block handle")
	}
	if _, err := block(data, end, meta, "metaindex"); err != nil {
		return err
	}
	ib, err := block(data, end, index, "index")
	if err != nil {
		return err
	}
	return eachValue(ib, func(v []byte) error {
		h, k := blockHandle(v)
		if k == 0 {
			return errors.New("bad data block handle in the index block")
		}
		_, err := block(data, end, h, "data")
		return err
	})
}

type handle struct{ offset, length uint64 }

func blockHandle(b []byte) (handle, int) {
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return handle{}, 0
	}
	length, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return handle{}, 0
	}
	return handle{off, length}, n + m
}

// block checks that h lies before the footer with its trailer, is stored
// uncompressed and passes its checksum, and returns its contents.
func block(data []byte, end int, h handle, what string) ([]byte, error) {
	if h.offset > uint64(end) || h.length > uint64(end)-h.offset || uint64(end)-h.offset-h.length < blockTrailer {
		return nil, fmt.Errorf("%s block at %d (+%d bytes) is past the end of the table: truncated or corrupt", what, h.offset, h.length)
	}
	b := data[h.offset : h.offset+h.length+blockTrailer]
	if t := b[h.length]; t != 0 {
		return nil, fmt.Errorf("%s block is compressed (type %d); TensorFlow writes bundle indexes uncompressed", what, t)
	}
	if binary.LittleEndian.Uint32(b[h.length+1:]) != MaskedCRC32C(b[:h.length+1]) {
		return nil, fmt.Errorf("%s block at %d fails its checksum: corrupt", what, h.offset)
	}
	return b[:h.length], nil
}

// eachValue walks a block's entries: each is three varints (shared key
// bytes, unshared key bytes, value length), the unshared key bytes and the
// value; a restart array of uint32 offsets and its count end the block.
func eachValue(b []byte, fn func([]byte) error) error {
	if len(b) < 4 {
		return errors.New("block too short for its restart count")
	}
	restarts := uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if restarts*4+4 > uint64(len(b)) {
		return errors.New("block's restart array is larger than the block")
	}
	p := b[:uint64(len(b))-restarts*4-4]
	for len(p) > 0 {
		var v [3]uint64
		for i := range v {
			x, n := binary.Uvarint(p)
			if n <= 0 {
				return errors.New("bad entry header in a block")
			}
			v[i], p = x, p[n:]
		}
		if v[1] > uint64(len(p)) || v[2] > uint64(len(p))-v[1] {
			return errors.New("block entry runs past the block")
		}
		if err := fn(p[v[1] : v[1]+v[2]]); err != nil {
			return err
		}
		p = p[v[1]+v[2]:]
	}
	return nil
}
