package transport

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// A deterministic synthetic gateway corpus in Discord's key order ({"t","s","op","d"}), shaped
// like v10 MESSAGE_CREATE and GUILD_CREATE dispatches. Nothing here is captured traffic.

var words = strings.Fields(`the a to and of is in it you that for on this with be are was have
just not but what so can like do get if all at my me your will no one up out about gg lol
deploy build server channel role ping pong voice music queue skip play raid boss loot patch
update meeting tomorrow tonight weekend thanks please maybe really great good nice ok yes`)

type corpusGen struct {
	r   *rand.Rand
	seq int
}

func newCorpus(seed uint64) *corpusGen {
	return &corpusGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *corpusGen) snowflake() string {
	return strconv.FormatUint(1<<60|g.r.Uint64N(1<<59), 10)
}

func (g *corpusGen) sentence(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[g.r.IntN(len(words))])
	}
	return b.String()
}

func (g *corpusGen) user(b *strings.Builder) {
	fmt.Fprintf(b, `{"username":"%s%d","public_flags":%d,"primary_guild":null,"id":"%s","global_name":"%s","display_name_styles":null,"discriminator":"0","collectibles":null,"clan":null,"avatar_decoration_data":null,"avatar":"%016x%016x"}`,
		words[g.r.IntN(len(words))], g.r.IntN(10000), g.r.IntN(4)*64, g.snowflake(),
		strings.ToUpper(words[g.r.IntN(len(words))]), g.r.Uint64(), g.r.Uint64())
}

// messageCreate returns one MESSAGE_CREATE dispatch of roughly 0.7–1.6 KB.
func (g *corpusGen) messageCreate() []byte {
	g.seq++
	var b strings.Builder
	fmt.Fprintf(&b, `{"t":"MESSAGE_CREATE","s":%d,"op":0,"d":{"type":0,"tts":false,"timestamp":"2026-11-25T12:%02d:%02d.%03d000+00:00","pinned":false,"nonce":"%s","mentions":[],"mention_roles":[],"mention_everyone":false,"member":{"roles":["%s","%s"],"premium_since":null,"pending":false,"nick":null,"mute":false,"joined_at":"2024-03-01T10:00:00.000000+00:00","flags":0,"deaf":false,"communication_disabled_until":null,"banner":null,"avatar":null},"id":"%s","flags":0,"embeds":[`,
		g.seq, g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000), g.snowflake(), g.snowflake(), g.snowflake(), g.snowflake())
	if g.r.IntN(6) == 0 {
		fmt.Fprintf(&b, `{"type":"rich","title":"%s","description":"%s","color":%d}`, g.sentence(4), g.sentence(20), g.r.IntN(1<<24))
	}
	fmt.Fprintf(&b, `],"edited_timestamp":null,"content":"%s","components":[],"channel_type":0,"channel_id":"%s","author":`,
		g.sentence(3+g.r.IntN(40)), g.snowflake())
	g.user(&b)
	fmt.Fprintf(&b, `,"attachments":[],"guild_id":"%s"}}`, g.snowflake())
	return []byte(b.String())
}

// guildCreate returns one GUILD_CREATE dispatch with the given number of members (about
// 0.6 KB each with presences).
func (g *corpusGen) guildCreate(members int) []byte {
	g.seq++
	var b strings.Builder
	gid := g.snowflake()
	fmt.Fprintf(&b, `{"t":"GUILD_CREATE","s":%d,"op":0,"d":{"id":"%s","name":"%s","member_count":%d,"large":%t,"roles":[`, g.seq, gid, g.sentence(2), members, members > 250)
	for i := range 30 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%s","name":"%s","color":%d,"position":%d,"permissions":"%d","hoist":false,"managed":false,"mentionable":true,"flags":0}`, g.snowflake(), g.sentence(1), g.r.IntN(1<<24), i, g.r.Uint64N(1<<40))
	}
	b.WriteString(`],"channels":[`)
	for i := range 60 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%s","type":%d,"name":"%s","position":%d,"parent_id":"%s","topic":"%s","nsfw":false,"rate_limit_per_user":0,"permission_overwrites":[]}`, g.snowflake(), g.r.IntN(3)*2, g.sentence(2), i, g.snowflake(), g.sentence(6))
	}
	b.WriteString(`],"members":[`)
	for i := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"user":`)
		g.user(&b)
		fmt.Fprintf(&b, `,"roles":["%s"],"nick":null,"joined_at":"2025-0%d-1%dT00:00:00.000000+00:00","deaf":false,"mute":false,"flags":0}`, g.snowflake(), 1+g.r.IntN(9), g.r.IntN(10))
	}
	b.WriteString(`],"presences":[`)
	for i := range members / 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"user":{"id":"%s"},"status":"%s","client_status":{"desktop":"online"},"activities":[{"type":0,"name":"%s","created_at":%d}]}`, g.snowflake(), [3]string{"online", "idle", "dnd"}[g.r.IntN(3)], g.sentence(2), 1700000000000+g.r.Int64N(1e10))
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// padded returns a dispatch of exactly n bytes (n >= 64) whose content is filler text.
func (g *corpusGen) padded(n int) []byte {
	g.seq++
	head := fmt.Sprintf(`{"t":"MESSAGE_CREATE","s":%d,"op":0,"d":{"content":"`, g.seq)
	const tail = `"}}`
	fill := n - len(head) - len(tail)
	if fill < 0 {
		panic("padded: n too small")
	}
	var b strings.Builder
	b.WriteString(head)
	for b.Len() < len(head)+fill {
		w := words[g.r.IntN(len(words))]
		if room := len(head) + fill - b.Len(); len(w)+1 > room {
			b.WriteString(strings.Repeat("x", room))
			break
		}
		b.WriteString(w)
		b.WriteByte(' ')
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// boundaryMessages returns messages whose cumulative length hits k×32768 exactly at the end of
// message index at (for each k in boundaries), with ordinary messages around them.
func boundaryMessages(seed uint64, windows []int, after int) (msgs [][]byte, at []int) {
	g := newCorpus(seed)
	total := 0
	for _, k := range windows {
		target := k * windowSize
		for total+g.approxNext() < target-2048 {
			m := g.messageCreate()
			msgs = append(msgs, m)
			total += len(m)
		}
		if target-total < 64 {
			panic("boundaryMessages: windows too close")
		}
		m := g.padded(target - total)
		msgs = append(msgs, m)
		total += len(m)
		at = append(at, len(msgs)-1)
	}
	for range after {
		msgs = append(msgs, g.messageCreate())
	}
	return msgs, at
}

func (g *corpusGen) approxNext() int { return 1700 }

// zlibChunks compresses msgs as one zlib stream with a sync flush after each message, as
// Discord does, and returns each message's compressed bytes (the first carries the header).
func zlibChunks(tb testing.TB, msgs [][]byte, level int, klauspost bool) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	type flusher interface {
		Write([]byte) (int, error)
		Flush() error
	}
	var w flusher
	var err error
	if klauspost {
		w, err = kzlib.NewWriterLevel(&buf, level)
	} else {
		w, err = zlib.NewWriterLevel(&buf, level)
	}
	if err != nil {
		tb.Fatal(err)
	}
	chunks := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		if _, err := w.Write(m); err != nil {
			tb.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		chunks = append(chunks, bytes.Clone(buf.Bytes()))
		buf.Reset()
	}
	return chunks
}

// zstdChunks compresses msgs as one zstd frame that never ends, flushing after each message.
func zstdChunks(tb testing.TB, msgs [][]byte, opts ...zstd.EOption) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	opts = append([]zstd.EOption{zstd.WithEncoderConcurrency(1)}, opts...)
	w, err := zstd.NewWriter(&buf, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	chunks := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		if _, err := w.Write(m); err != nil {
			tb.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		chunks = append(chunks, bytes.Clone(buf.Bytes()))
		buf.Reset()
	}
	return chunks
}

func steadyMessages(seed uint64, n int) [][]byte {
	g := newCorpus(seed)
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = g.messageCreate()
	}
	return msgs
}
