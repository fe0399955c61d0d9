package messaging

// Queued returns how many requests wait in the client's bucket queues, for tests that must
// know a request is queued before they act.
func Queued(c *Client) int {
	c.lim.mu.Lock()
	defer c.lim.mu.Unlock()
	n := 0
	for _, b := range c.lim.buckets {
		n += len(b.queue)
	}
	return n
}
