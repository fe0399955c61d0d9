package events

// ParseEnvelope decodes one gateway frame. It is the receive path's decoder: for frames in
// Discord's key order, {"t":…,"s":…,"op":…,"d":…}, it reads t, s and op from the head of the
// frame and takes d as the rest of the object without scanning it, so its cost does not grow
// with the size of d (a 2 MB GUILD_CREATE costs what a heartbeat ACK does). Any other shape
// (other key order, escapes in "t", extra keys before "d") falls back to [Envelope.UnmarshalJSON].
// Known event names are returned as the constants in [DispatchNames], so they cost no
// allocation.
//
// D aliases b: a caller that reuses b (an inflate buffer, a websocket read buffer) must copy D
// before the next read.
//
// D is not validated. For valid JSON, ParseEnvelope gives the same result as
// Envelope.UnmarshalJSON whenever "d" is the object's last key, which is how Discord writes
// every frame. A frame with keys after "d" (Discord sends none) yields a D holding those keys
// too, which is never valid JSON, so decoding D then fails rather than silently reading the
// wrong thing. A frame that is not a JSON object with an integer "op" is an error wrapping
// ErrNotEnvelope.
func ParseEnvelope(b []byte) (Envelope, error) {
	if e, ok := parseDiscordOrder(b); ok {
		return e, nil
	}
	var e Envelope
	if err := e.UnmarshalJSON(b); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// internedNames maps each known dispatch name to its constant. Looking it up with
// m[string(bytes)] does not allocate.
var internedNames = func() map[string]string {
	m := make(map[string]string, len(DispatchNames))
	for _, n := range DispatchNames {
		m[n] = n
	}
	return m
}()

func internName(b []byte) string {
	if s, ok := internedNames[string(b)]; ok {
		return s
	}
	return string(b)
}

// parseDiscordOrder is the fast path. It accepts only a strict subset of JSON for the head
// (plain lowercase keys in the order t, s, op, d; "t" a string of printable ASCII without
// escapes or null; "s" an integer or null; "op" an integer) and reports ok=false for anything
// else, so the full decoder decides. Everything it accepts in the head is therefore valid JSON
// that the full decoder reads the same way.
func parseDiscordOrder(b []byte) (e Envelope, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return e, false
	}
	i++

	// "t"
	if i = expectKey(b, i, `"t"`); i < 0 {
		return e, false
	}
	i = skipSpace(b, i)
	if i >= len(b) {
		return e, false
	}
	switch b[i] {
	case 'n':
		if !hasPrefixAt(b, i, "null") {
			return e, false
		}
		i += 4
	case '"':
		start := i + 1
		j := start
		for ; j < len(b); j++ {
			c := b[j]
			if c == '"' {
				break
			}
			// Escapes, control characters and non-ASCII go to the full decoder, which
			// unescapes and replaces invalid UTF-8.
			if c == '\\' || c < 0x20 || c >= 0x7f {
				return e, false
			}
		}
		if j >= len(b) {
			return e, false
		}
		e.T = internName(b[start:j])
		i = j + 1
	default:
		return e, false
	}

	// "s"
	if i = expectComma(b, i); i < 0 {
		return e, false
	}
	if i = expectKey(b, i, `"s"`); i < 0 {
		return e, false
	}
	i = skipSpace(b, i)
	if hasPrefixAt(b, i, "null") {
		i += 4
	} else {
		var n int64
		if n, i = parseInt(b, i, 18); i < 0 {
			return e, false
		}
		e.S = n
	}

	// "op"
	if i = expectComma(b, i); i < 0 {
		return e, false
	}
	if i = expectKey(b, i, `"op"`); i < 0 {
		return e, false
	}
	i = skipSpace(b, i)
	var op int64
	if op, i = parseInt(b, i, 9); i < 0 {
		return e, false
	}
	e.Op = Op(op)

	i = skipSpace(b, i)
	if i >= len(b) {
		return e, false
	}
	if b[i] == '}' {
		// No "d" at all, as in a bare {"t":null,"s":null,"op":11}.
		if skipSpace(b, i+1) != len(b) {
			return e, false
		}
		return e, true
	}

	// "d": everything up to the object's closing brace.
	if b[i] != ',' {
		return e, false
	}
	if i = expectKey(b, i+1, `"d"`); i < 0 {
		return e, false
	}
	start := skipSpace(b, i)
	end := len(b)
	for end > start && isSpace(b[end-1]) {
		end--
	}
	if end <= start || b[end-1] != '}' {
		return e, false
	}
	end--
	for end > start && isSpace(b[end-1]) {
		end--
	}
	d := b[start:end]
	if !plausibleValue(d) {
		return e, false
	}
	if len(d) == 4 && string(d) == "null" {
		d = nil
	}
	e.D = d
	return e, true
}

// plausibleValue is an O(1) sanity check on d: its first and last bytes must be able to start
// and end one JSON value. It rejects truncated and garbage frames; it cannot prove validity.
func plausibleValue(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	first, last := d[0], d[len(d)-1]
	switch {
	case first == '{':
		return last == '}' && len(d) >= 2
	case first == '[':
		return last == ']' && len(d) >= 2
	case first == '"':
		return last == '"' && len(d) >= 2
	case first == '-' || (first >= '0' && first <= '9'):
		return last >= '0' && last <= '9'
	case first == 't':
		return string(d) == "true"
	case first == 'f':
		return string(d) == "false"
	case first == 'n':
		return string(d) == "null"
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func hasPrefixAt(b []byte, i int, p string) bool {
	return i >= 0 && len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

// expectKey skips space, then requires key (quoted) and a colon; it returns the index after
// the colon or -1.
func expectKey(b []byte, i int, key string) int {
	i = skipSpace(b, i)
	if !hasPrefixAt(b, i, key) {
		return -1
	}
	i = skipSpace(b, i+len(key))
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// expectComma skips space, then requires a comma; it returns the index after it or -1.
func expectComma(b []byte, i int) int {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ',' {
		return -1
	}
	return i + 1
}

// parseInt reads a JSON integer of at most maxDigits digits (so it cannot overflow) at b[i]
// and returns it with the index after it, or -1 when the text there is not such an integer
// (a fraction, an exponent, a leading zero, too many digits).
func parseInt(b []byte, i, maxDigits int) (int64, int) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > maxDigits || (digits > 1 && b[start] == '0') {
		return 0, -1
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, -1
	}
	if neg {
		n = -n
	}
	return n, i
}
