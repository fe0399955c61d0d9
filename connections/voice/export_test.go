package voice

// SetAfterDatagram makes every Conn that m joins from now on call f on its UDP reader after
// each datagram it handled, so the external tests can wait for the reader instead of polling
// Stats. Set it before Join.
func SetAfterDatagram(m *Manager, f func()) { m.afterDatagram = f }
