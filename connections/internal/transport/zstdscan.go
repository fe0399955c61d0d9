package transport

import (
	"encoding/binary"
	"fmt"
)

// zstdScan walks the structure of a zstd stream (frame headers, block headers, checksums)
// without decoding anything. The zstd decoder latches an error the moment it asks for input
// that is not there, so zstdStream uses the walk to feed it exactly the bytes up to the end of
// the last block that produces output, and never lets it look further.
type zstdScan struct {
	inFrame     bool // past a frame header, before the last block
	hasChecksum bool // the current frame ends with a 4-byte content checksum
}

// zstdScanResult describes one pass over buffered input.
type zstdScanResult struct {
	// outEnd is the offset just past the last block that yields output (and past the frame's
	// checksum when that block was the last one); 0 if there is none.
	outEnd int
	// atOutEnd is the scanner state at outEnd.
	atOutEnd zstdScan
	// whole reports that the input ends on a structure boundary (no partial header or block).
	whole bool
}

const (
	zstdMagic         = 0xFD2FB528
	zstdSkippableMask = 0xFFFFFFF0
	zstdSkippableBase = 0x184D2A50
	zstdMaxBlockSize  = 128 << 10

	blockRaw        = 0
	blockRLE        = 1
	blockCompressed = 2
)

// scan walks data from state s. It fails only on structure the decoder would reject too.
func (s zstdScan) scan(data []byte) (zstdScanResult, error) {
	var res zstdScanResult
	p := 0
	for {
		if p == len(data) {
			res.whole = true
			return res, nil
		}
		if !s.inFrame {
			n, hasChecksum, ok, err := frameHeaderLen(data[p:])
			if err != nil {
				return res, err
			}
			if !ok {
				return res, nil // partial header
			}
			p += n
			if n > 0 && hasChecksum >= 0 {
				s.inFrame = true
				s.hasChecksum = hasChecksum == 1
			}
			continue
		}
		if len(data)-p < 3 {
			return res, nil
		}
		bh := uint32(data[p]) | uint32(data[p+1])<<8 | uint32(data[p+2])<<16
		last := bh&1 != 0
		typ := (bh >> 1) & 3
		size := int(bh >> 3)
		content := size
		switch typ {
		case blockRLE:
			content = 1
		case blockCompressed:
			if size < 2 {
				return res, fmt.Errorf("%w: zstd compressed block of %d bytes", ErrCorruptStream, size)
			}
		case blockRaw:
		default:
			return res, fmt.Errorf("%w: zstd reserved block type", ErrCorruptStream)
		}
		if size > zstdMaxBlockSize {
			return res, fmt.Errorf("%w: zstd block of %d bytes", ErrCorruptStream, size)
		}
		end := p + 3 + content
		if last && s.hasChecksum {
			end += 4
		}
		if end > len(data) {
			return res, nil // partial block
		}
		p = end
		if last {
			s.inFrame = false
		}
		// Raw and RLE blocks say how much they produce. A compressed block always produces
		// something when written by a real encoder; one that produced nothing would make the
		// decoder read on and fail with ErrCorruptStream, which is the right outcome for it.
		if typ == blockCompressed || size > 0 {
			res.outEnd = p
			res.atOutEnd = s
		}
	}
}

// frameHeaderLen measures the frame (or skippable frame) header at the start of b.
// hasChecksum is 1 or 0 for a zstd frame and -1 for a skippable frame, which is consumed
// whole. ok is false when b ends inside the header.
func frameHeaderLen(b []byte) (n int, hasChecksum int, ok bool, err error) {
	if len(b) < 4 {
		return 0, 0, false, nil
	}
	magic := binary.LittleEndian.Uint32(b)
	if magic&zstdSkippableMask == zstdSkippableBase {
		if len(b) < 8 {
			return 0, 0, false, nil
		}
		size := int64(binary.LittleEndian.Uint32(b[4:]))
		if int64(len(b)-8) < size {
			return 0, 0, false, nil
		}
		return 8 + int(size), -1, true, nil
	}
	if magic != zstdMagic {
		return 0, 0, false, fmt.Errorf("%w: bad zstd frame magic %08x", ErrCorruptStream, magic)
	}
	if len(b) < 5 {
		return 0, 0, false, nil
	}
	fhd := b[4]
	if fhd&0x08 != 0 {
		return 0, 0, false, fmt.Errorf("%w: zstd frame header reserved bit set", ErrCorruptStream)
	}
	single := fhd&0x20 != 0
	n = 5
	if !single {
		n++ // window descriptor
	}
	n += [4]int{0, 1, 2, 4}[fhd&3] // dictionary ID
	fcsLen := 0
	switch fcs := fhd >> 6; {
	case fcs == 0 && single:
		fcsLen = 1
	case fcs > 0:
		fcsLen = 1 << fcs
	}
	n += fcsLen
	if len(b) < n {
		return 0, 0, false, nil
	}
	// Refuse an oversized window here, before buffering blocks for a decoder that would
	// refuse it anyway. A single-segment frame's window is its content size.
	var window uint64
	if single {
		var fcs [8]byte
		copy(fcs[:], b[n-fcsLen:n])
		window = binary.LittleEndian.Uint64(fcs[:])
		if fcsLen == 2 {
			window += 256
		}
	} else {
		wd := b[5]
		base := uint64(1) << (10 + wd>>3)
		window = base + base/8*uint64(wd&7)
	}
	if window > MaxZstdWindow {
		return 0, 0, false, fmt.Errorf("%w: zstd window of %d bytes exceeds %d", ErrCorruptStream, window, MaxZstdWindow)
	}
	if fhd&0x04 != 0 {
		hasChecksum = 1
	}
	return n, hasChecksum, true, nil
}
