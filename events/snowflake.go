package events

import (
	"fmt"
	"strconv"
	"time"
)

// Snowflake is a Discord id: a 64-bit number that Discord serializes as a JSON string. The top
// 42 bits are milliseconds since the Discord epoch (2015-01-01T00:00:00Z).
type Snowflake uint64

// DiscordEpoch is the Unix time in milliseconds that snowflake timestamps count from.
const DiscordEpoch = 1420070400000

// ParseSnowflake parses a decimal id.
func ParseSnowflake(s string) (Snowflake, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("events: invalid snowflake %q", s)
	}
	return Snowflake(n), nil
}

// NewSnowflake builds an id for time t with the given low 22 bits (worker, process, increment),
// as the simulator and tests need.
func NewSnowflake(t time.Time, low uint32) Snowflake {
	ms := t.UnixMilli() - DiscordEpoch
	if ms < 0 {
		ms = 0
	}
	return Snowflake(uint64(ms)<<22 | uint64(low&(1<<22-1)))
}

// Time returns when the id was made.
func (s Snowflake) Time() time.Time {
	return time.UnixMilli(int64(s>>22) + DiscordEpoch).UTC()
}

// ShardID returns the shard that receives events for a guild with this id:
// (id >> 22) % shardCount.
func (s Snowflake) ShardID(shardCount int) int {
	if shardCount <= 1 {
		return 0
	}
	return int((uint64(s) >> 22) % uint64(shardCount))
}

// IsZero reports whether the id is unset.
func (s Snowflake) IsZero() bool { return s == 0 }

func (s Snowflake) String() string { return strconv.FormatUint(uint64(s), 10) }

// MarshalJSON encodes the id as a JSON string, as Discord does.
func (s Snowflake) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(s), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a string or a number (Discord echoes small ids back as numbers, e.g. in
// not_found) and null as zero.
func (s *Snowflake) UnmarshalJSON(b []byte) error {
	str := string(b)
	if str == "null" {
		*s = 0
		return nil
	}
	if len(str) >= 2 && str[0] == '"' && str[len(str)-1] == '"' {
		str = str[1 : len(str)-1]
	}
	n, err := strconv.ParseUint(str, 10, 64)
	if err != nil {
		return fmt.Errorf("events: invalid snowflake %s", b)
	}
	*s = Snowflake(n)
	return nil
}
