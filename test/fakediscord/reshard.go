package fakediscord

import "fmt"

// SetRecommendedShards changes the shard count GET /gateway/bot recommends (WithShardCount at
// start), as Discord does when a bot grows. Sessions already running keep their own count:
// while a client runs two shard sets side by side (a re-shard), every guild event goes to the
// sessions of both sets that cover the guild, each under its own count, as on Discord.
func (s *Server) SetRecommendedShards(n int) error {
	if n < 1 {
		return fmt.Errorf("fakediscord: recommended shard count %d, want at least 1", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.cfg.shardCount = n
	s.notifyLocked()
	return nil
}

// RecommendedShards returns the shard count GET /gateway/bot recommends now.
func (s *Server) RecommendedShards() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.shardCount
}
