package wasm

// appendU32 appends the minimal unsigned LEB128 encoding of v.
func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS64 appends the minimal signed LEB128 encoding of v (also used for s32 and s33).
func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// leb reads a LEB128 integer of the given width in bits (32, 33 or 64), signed or not,
// strictly: at most ceil(bits/7) bytes, and the unused bits of the last byte must be zero
// (unsigned) or copies of the sign bit (signed). Signed results are sign-extended to 64
// bits.
func (r *reader) leb(bits uint, signed bool) (uint64, error) {
	start := r.pos
	maxBytes := int((bits + 6) / 7)
	var v uint64
	var shift uint
	for i := 0; ; i++ {
		if r.pos >= r.end {
			return 0, r.errAt(start, "unexpected end of input in LEB128 integer")
		}
		b := r.buf[r.pos]
		r.pos++
		if i == maxBytes-1 {
			if b&0x80 != 0 {
				return 0, r.errAt(start, "LEB128 integer representation too long (more than %d bytes)", maxBytes)
			}
			used := bits - shift // value bits carried by this last byte, 1..7
			if signed {
				mask := byte(0x7f) &^ (byte(1)<<(used-1) - 1)
				if s := b & mask; s != 0 && s != mask {
					return 0, r.errAt(start, "signed LEB128 integer too large for %d bits", bits)
				}
			} else if (b&0x7f)>>used != 0 {
				return 0, r.errAt(start, "LEB128 integer too large for %d bits", bits)
			}
		}
		v |= uint64(b&0x7f) << shift
		shift += 7
		if b&0x80 == 0 {
			if signed && shift < 64 && b&0x40 != 0 {
				v |= ^uint64(0) << shift
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.leb(32, false)
	return uint32(v), err
}

func (r *reader) s32() (int32, error) {
	v, err := r.leb(32, true)
	return int32(v), err
}

func (r *reader) s33() (int64, error) {
	v, err := r.leb(33, true)
	return int64(v), err
}

func (r *reader) s64() (int64, error) {
	v, err := r.leb(64, true)
	return int64(v), err
}
