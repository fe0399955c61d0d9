package bench

import (
	"encoding/json"
	"testing"

	"github.com/cordage/cordage/events"
)

// TestCorpus checks the corpus is what docs/benchmarks.md says: valid JSON that Cordage's typed
// decoders accept, the steady mix in its proportions, GUILD_CREATEs from about 50 KB to 1.9 MB.
func TestCorpus(t *testing.T) {
	s := steady()
	counts := map[string]int{}
	for i, ev := range s.events {
		counts[ev.T]++
		v := events.NewDispatchData(ev.T)
		if v == nil {
			t.Fatalf("event %d: no type for %s", i, ev.T)
		}
		if err := json.Unmarshal(ev.D, v); err != nil {
			t.Fatalf("event %d %s: %v", i, ev.T, err)
		}
	}
	want := map[string]float64{"MESSAGE_CREATE": .40, "PRESENCE_UPDATE": .30, "TYPING_START": .15, "GUILD_MEMBER_UPDATE": .08, "MESSAGE_REACTION_ADD": .07}
	for name, share := range want {
		got := float64(counts[name]) / float64(len(s.events))
		if got < share-.03 || got > share+.03 {
			t.Errorf("%s: %.3f of the steady set, want about %.2f", name, got, share)
		}
	}
	if avg := s.bytes / len(s.events); avg < 700 || avg > 2000 {
		t.Errorf("steady events average %d bytes, want about 1 KB", avg)
	}
	st := startup()
	lo, hi := 1<<30, 0
	for _, ev := range st.events {
		var g events.Guild
		if err := json.Unmarshal(ev.D, &g); err != nil {
			t.Fatalf("GUILD_CREATE: %v", err)
		}
		lo, hi = min(lo, len(ev.D)), max(hi, len(ev.D))
	}
	if lo < 20_000 || lo > 80_000 || hi < 1_000_000 || hi > 2_500_000 {
		t.Errorf("GUILD_CREATEs span %d–%d bytes, want about 50 KB–1.9 MB", lo, hi)
	}
}
