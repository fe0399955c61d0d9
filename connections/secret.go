package connections

import (
	"fmt"
	"io"
)

// secret holds the bot token. Every way fmt or zap could print it prints "[redacted]", so a
// config or shard dumped with %+v cannot leak the token; only identify, resume and the
// Authorization header read value.
type secret struct{ value string }

const redacted = "[redacted]"

func (*secret) String() string               { return redacted }
func (*secret) GoString() string             { return redacted }
func (*secret) Format(f fmt.State, _ rune)   { _, _ = io.WriteString(f, redacted) }
func (*secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (*secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
